"""Saving setups and requesting plans: the steps shared by the wizard and the API."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core.models import Operation, OperationKind, Setup, SetupStatus, SourceProvider
from portal import audit
from portal.db import get_by_id
from portal import operation_requests as requests
from portal.setups import document_rules

log = logging.getLogger(__name__)


class SetupConflict(Exception):
    """Someone else saved the setup since this editor read it (optimistic locking on Setup.version)."""

    def __init__(self, current_version: int | None = None, sent_version: int | None = None):
        if current_version is not None:
            detail = f" (it is now at version {current_version}; your copy was version {sent_version})"
        else:
            detail = ""
        super().__init__(
            f"Someone else changed this setup while you were editing it{detail}. "
            "Your changes were not saved: reload the page to see the current values, then make your change again."
        )


class PlanInProgress(Exception):
    def __init__(self, existing: Operation | None):
        which = f"Plan #{existing.id}" if existing is not None else "Another plan"
        super().__init__(f"{which} of an earlier version of this setup is still being prepared. Wait until it "
                         "finishes (a few seconds), then plan again to include the latest changes.")


class NameTaken(Exception):
    def __init__(self, name: str, build_account_id: str, region: str):
        super().__init__(
            f"Another setup already uses the name {name} in build account {build_account_id}, region {region}. "
            "Choose another name (or another build account or region)."
        )


class NotReady(Exception):
    def __init__(self, step: str):
        self.step = step
        super().__init__(f"The setup is not complete: finish the {step} step before asking for a plan.")


def get_setup(session: Session, setup_id: int) -> Setup | None:
    return get_by_id(session, Setup, setup_id)


def new_setup(created_by_id: int | None, team_id: int) -> Setup:
    """Return an unsaved setup of ``team_id`` with every column's default set now (the ORM applies them only on
    insert)."""
    return Setup(created_by_id=created_by_id, team_id=team_id, branch="main",
                 source_provider=SourceProvider.CODECOMMIT.value,
                 connection_arn="", full_repository_id="", approval_email="", tags={}, stage_parameters={},
                 access={}, status=SetupStatus.DRAFT.value, wizard_step="accounts", two_person_approval=False)


def document(setup: Setup) -> dict[str, Any]:
    """Return the setup's user-given fields in the API's shape."""
    return {
        "build_account_id": setup.build_account_id or "",
        "staging_account_id": setup.staging_account_id or "",
        "production_account_id": setup.production_account_id or "",
        "region": setup.region or "",
        "name": setup.name or "",
        "branch": setup.branch,
        "source_provider": setup.source_provider,
        "connection_arn": setup.connection_arn,
        "full_repository_id": setup.full_repository_id,
        "approval_email": setup.approval_email,
        "tags": dict(setup.tags),
        "stage_parameters": {stage: dict(values) for stage, values in setup.stage_parameters.items()},
        "access": {account: dict(entry) for account, entry in setup.access.items()},
        "two_person_approval": bool(setup.two_person_approval),
    }


def apply(setup: Setup, values: dict[str, Any]) -> list[str]:
    """Copy validated values onto the setup; return the names of the fields that changed."""
    changed = []
    for field, value in values.items():
        if field not in document_rules.DOCUMENT_FIELDS:
            raise KeyError(field)
        if getattr(setup, field) != value:
            setattr(setup, field, value)
            changed.append(field)
    if any(field in changed for field in document_rules.ACCOUNT_FIELDS[:3]):
        # Access is chosen per account: forget the accounts the setup no longer uses.
        accounts = setup.distinct_accounts()
        setup.access = {account: entry for account, entry in setup.access.items() if account in accounts}
    return changed


def refresh_status(setup: Setup) -> dict[str, list[str]]:
    """Mark the setup ready only when every step validates, and point the wizard at the first gap."""
    _, errors = document_rules.validate_document(document(setup))
    setup.status = SetupStatus.DRAFT.value if errors else SetupStatus.READY.value
    setup.wizard_step = document_rules.first_incomplete_step(errors)
    return errors


def check_name_free(session: Session, setup: Setup) -> None:
    """:raise NameTaken: another setup has this name in the same build account and region."""
    if not (setup.name and setup.build_account_id and setup.region):
        return
    query = select(Setup.id).where(
        Setup.name == setup.name, Setup.build_account_id == setup.build_account_id, Setup.region == setup.region
    )
    if setup.id is not None:
        query = query.where(Setup.id != setup.id)
    # No autoflush: flushing the edited setup first would hit the unique key before this friendlier check.
    with session.no_autoflush:
        taken = session.scalar(query.limit(1)) is not None
    if taken:
        raise NameTaken(setup.name, setup.build_account_id, setup.region)


def save(session: Session, setup: Setup, values: dict[str, Any], *, action: str,
         sent_version: int | None = None) -> list[str]:
    """Apply values, check the name, refresh the status and commit with an audit entry.

    :raise SetupConflict: ``sent_version`` is stale, or a concurrent save won the race
    :raise NameTaken: the name is used in this build account and region
    """
    if setup.id is not None and sent_version is not None and sent_version != setup.version:
        raise SetupConflict(setup.version, sent_version)
    changed = apply(setup, values)
    try:
        check_name_free(session, setup)
    except NameTaken:
        session.rollback()  # drop the values just applied
        raise
    refresh_status(setup)
    if setup.id is None:
        session.add(setup)
    try:
        session.flush()
        audit.record(action, audit.SUCCESS, target=f"setup {setup.id}",
                     detail={"fields": changed, "status": setup.status})
        session.commit()
    except StaleDataError as err:
        session.rollback()
        raise SetupConflict() from err
    except IntegrityError as err:
        # The unique key caught a concurrent save of the same name.
        session.rollback()
        raise NameTaken(setup.name or "", setup.build_account_id or "", setup.region or "") from err
    log.info("Saved setup %s (%s): %s", setup.id, setup.status, changed)
    return changed


def record_refusal(session: Session, action: str, setup: Setup | None, reason: str,
                   fields: list[str] | None = None) -> None:
    """Audit a change that was refused (invalid input, name taken, version conflict)."""
    session.rollback()
    target = f"setup {setup.id}" if setup is not None and setup.id else "new setup"
    audit.record(action, audit.FAILED, target=target, message=reason, detail={"fields": sorted(fields or [])})
    session.commit()


def operations(session: Session, setup: Setup, limit: int = 20) -> list[Operation]:
    query = select(Operation).where(Operation.setup_id == setup.id).order_by(Operation.id.desc()).limit(limit)
    return list(session.scalars(query))


def request_plan(session: Session, setup: Setup, username: str) -> Operation:
    """Record a pending plan operation, commit, then enqueue ``worker.plan_setup`` with its id.

    When the broker is down the operation is marked failed with the reason, and returned all the same.
    A plan of this same version of the setup that is still being prepared is returned instead of a
    second one (two tabs, a double click: one plan).

    :raise NotReady: the setup is still a draft
    :raise PlanInProgress: a plan of an older version is still being prepared (audited as denied)
    """
    if setup.status != SetupStatus.READY.value:
        raise NotReady(setup.wizard_step)
    try:
        return requests.record_and_enqueue(session, setup, OperationKind.PLAN, username, "setup.plan")
    except requests.AlreadyRequested as err:
        existing = err.existing
    if existing is not None and existing.detail.get("setup_version") == setup.version:
        audit.record("setup.plan", audit.SUCCESS, target=f"setup {setup.id}",
                     message=f"plan #{existing.id} of this version was already being prepared",
                     detail={"operation": existing.id, "joined": True})
        session.commit()
        return existing
    refusal = PlanInProgress(existing)
    audit.record("setup.plan", audit.DENIED, target=f"setup {setup.id}", message=str(refusal),
                 detail={"operation": existing.id} if existing is not None else {})
    session.commit()
    raise refusal
