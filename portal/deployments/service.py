"""Applying a reviewed plan and tearing a setup down: the checks and steps shared by the pages and the API.

The worker owns every AWS call; the portal records an operation, commits, then sends the task by name
(docs/contracts.md, portal/operation_requests.py). The worker checks the plan again when it starts,
and the database's unique index uq_operations_one_change refuses a second unfinished apply or
teardown: the checks here give the user a clear answer before anything is written.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Operation, OperationKind, OperationStatus, Setup, StackEvent, StackRecord
from core import lifecycle, plans
from core.times import as_utc
from portal import audit
from portal import operation_requests as requests
from portal.db import get_by_id

log = logging.getLogger(__name__)

# An apply or teardown still to finish: a new one must wait for it.
ACTIVE = (OperationStatus.PENDING.value, OperationStatus.RUNNING.value, OperationStatus.WAITING.value)
CHANGING = (OperationKind.APPLY.value, OperationKind.TEARDOWN.value)
# Plans that failed or were cancelled produced nothing to apply, so they do not replace an older one.
DEAD = (OperationStatus.FAILED.value, OperationStatus.CANCELLED.value)
EVENT_PAGE_SIZE = 500
# On PostgreSQL two workers storing events of two stacks at once may commit them out of id order, so
# a reader that moved its cursor past a fresh id could skip a lower one committed a moment later.
# The cursor trails the newest events by this long (see events_after): a monitor step commits the
# events it stored within a few AWS calls, so even throttled retries are done well before.
REPLAY_SECONDS = 30
REQUIRED_FIELDS = ("name", "build_account_id", "staging_account_id", "production_account_id", "region")


class Refused(Exception):
    """The request may not go ahead; the message says why and what to do instead."""


class WrongConfirmation(Exception):
    def __init__(self, name: str):
        super().__init__(f"Type the application name, {name}, exactly, to confirm the teardown.")


def get_operation(session: Session, setup_id: int, operation_id: int) -> Operation | None:
    """Return the operation when it belongs to the setup."""
    operation = get_by_id(session, Operation, operation_id)
    return operation if operation is not None and operation.setup_id == setup_id else None


def latest(session: Session, setup: Setup, *kinds: str) -> Operation | None:
    return session.scalars(select(Operation).where(Operation.setup_id == setup.id, Operation.kind.in_(kinds))
                           .order_by(Operation.id.desc()).limit(1)).first()


def latest_that_ran(session: Session, setup: Setup, *kinds: str) -> Operation | None:
    """The newest operation of these kinds, passing over those cancelled before a worker started them.

    Those ran nothing. One cancelled while it waited for a self-launched stack did run: what it
    finished stays, so it counts.
    """
    return lifecycle.newest_that_ran(session, setup.id, *kinds)


def state_of(session: Session, setup: Setup) -> tuple[lifecycle.SetupState, datetime]:
    """The setup's lifecycle state, derived from its operations, and when it last changed."""
    return lifecycle.state_of(session, setup)


def active_change(session: Session, setup_id: int) -> Operation | None:
    """Return the apply or teardown of the setup that has not finished yet, if any."""
    return session.scalars(select(Operation).where(
        Operation.setup_id == setup_id, Operation.kind.in_(CHANGING), Operation.status.in_(ACTIVE),
    ).order_by(Operation.id).limit(1)).first()


def newer_plan(session: Session, plan: Operation) -> Operation | None:
    return session.scalars(select(Operation).where(
        Operation.setup_id == plan.setup_id, Operation.kind == OperationKind.PLAN.value, Operation.id > plan.id,
        Operation.status.not_in(DEAD),
    ).order_by(Operation.id.desc()).limit(1)).first()


def used_by(session: Session, plan: Operation) -> Operation | None:
    """Return the apply that already executed (or began executing) this plan's change sets."""
    started = select(StackRecord.id).where(StackRecord.operation_id == Operation.id).exists()
    return session.scalars(select(Operation).where(
        Operation.plan_id == plan.id, Operation.kind == OperationKind.APPLY.value,
        (Operation.status == OperationStatus.SUCCEEDED.value) | started,
    ).order_by(Operation.id).limit(1)).first()


def apply_refusal(session: Session, setup: Setup, plan: Operation) -> str:
    """Return why ``plan`` cannot be applied now, or "" when it can."""
    status = plan.status
    if status in (OperationStatus.PENDING.value, OperationStatus.RUNNING.value):
        return f"Plan #{plan.id} is still {status}: wait until its changes are listed, then review them."
    if status != OperationStatus.SUCCEEDED.value:
        return f"Plan #{plan.id} {status}, so there is nothing to apply. Plan again."
    unbacked = plans.unreviewable(plan)
    if unbacked:
        return f"Plan #{plan.id} cannot be applied: {'; '.join(unbacked)}. Plan again."
    if plans.all_up_to_date(plan.stacks):
        return f"Plan #{plan.id} found every stack up to date: there is nothing to apply."
    planned_version = plan.detail.get("setup_version")
    if planned_version != setup.version:
        return (f"The setup changed since plan #{plan.id} was made (version {planned_version} then, "
                f"{setup.version} now). Plan again and review the new changes.")
    newer = newer_plan(session, plan)
    if newer is not None:
        return f"Plan #{newer.id} is newer than plan #{plan.id}: review and apply that one instead."
    used = used_by(session, plan)
    if used is not None:
        return (f"Plan #{plan.id} was already applied by operation #{used.id}. "
                "Plan again to see what is left to change.")
    running = active_change(session, setup.id)
    if running is not None:
        return (f"{running.kind.capitalize()} #{running.id} of this setup is still {running.status}: "
                "wait for it to finish.")
    return ""


def is_complete(setup: Setup) -> bool:
    """Whether the setup names its accounts, region and application: what the worker needs to find its stacks."""
    return all(getattr(setup, field) for field in REQUIRED_FIELDS)


def teardown_refusal(session: Session, setup: Setup) -> str:
    """Return why the setup's stacks cannot be torn down now, or "" when they can."""
    if not is_complete(setup):
        return ("This setup has no complete accounts, region and name yet, so the portal cannot tell which "
                "stacks are its own: there is nothing to tear down.")
    running = active_change(session, setup.id)
    if running is not None:
        return (f"{running.kind.capitalize()} #{running.id} of this setup is still {running.status}: "
                "wait for it to finish.")
    last = latest_that_ran(session, setup, *CHANGING)
    if last is not None and last.kind == OperationKind.TEARDOWN.value and last.status == OperationStatus.SUCCEEDED.value:
        return (f"Teardown #{last.id} already deleted this setup's stacks and nothing was applied since: "
                "there is nothing left to tear down.")
    return ""


def _lock_setup(session: Session, setup: Setup) -> None:
    # On PostgreSQL this serialises two people applying the same setup at once, so the second sees
    # the first one's pending operation; SQLite ignores it (its writers are serialised anyway, and
    # the worker's unique index is the final guard).
    session.execute(select(Setup.id).where(Setup.id == setup.id).with_for_update())


def _refuse(session: Session, action: str, setup: Setup, reason: str, detail: dict | None = None) -> Refused:
    session.rollback()
    audit.record(action, audit.DENIED, target=f"setup {setup.id}", message=reason, detail=detail or {})
    session.commit()
    log.info("Refused %s of setup %s: %s", action, setup.id, reason)
    return Refused(reason)


def request_apply(session: Session, setup: Setup, plan: Operation, username: str) -> Operation:
    """Record an apply of the reviewed plan, commit, then enqueue ``worker.apply_setup`` with its id.

    :raise Refused: the plan cannot be applied now (the refusal is audited)
    """
    _lock_setup(session, setup)
    reason = apply_refusal(session, setup, plan)
    if reason:
        raise _refuse(session, "setup.apply", setup, reason, {"plan": plan.id})
    try:
        return requests.record_and_enqueue(session, setup, OperationKind.APPLY, username, "setup.apply",
                                           plan_id=plan.id)
    except requests.AlreadyRequested as err:
        # Another tab or person got there first, between the check above and the insert.
        raise _refuse(session, "setup.apply", setup, str(err), {"plan": plan.id}) from err


def request_teardown(session: Session, setup: Setup, confirmation: str, username: str) -> Operation:
    """Record a teardown, commit, then enqueue ``worker.teardown_setup`` with its id.

    :raise WrongConfirmation: ``confirmation`` is not the application name (audited as failed)
    :raise Refused: another change is under way or the setup is incomplete (audited as denied)
    """
    _lock_setup(session, setup)
    reason = teardown_refusal(session, setup)
    if reason:
        raise _refuse(session, "setup.teardown", setup, reason)
    if confirmation.strip() != setup.name:
        err = WrongConfirmation(setup.name or "")
        session.rollback()
        audit.record("setup.teardown", audit.FAILED, target=f"setup {setup.id}", message=str(err))
        session.commit()
        raise err
    try:
        return requests.record_and_enqueue(session, setup, OperationKind.TEARDOWN, username, "setup.teardown")
    except requests.AlreadyRequested as err:
        raise _refuse(session, "setup.teardown", setup, str(err)) from err


def events_after(session: Session, operation: Operation, after: int,
                 limit: int = EVENT_PAGE_SIZE) -> tuple[list[StackEvent], int]:
    """Return the operation's stack events with an id above ``after`` (in id order) and the next cursor.

    The cursor only passes events stored more than REPLAY_SECONDS ago: every id below such an event was
    handed out even earlier, so its transaction has committed by now and nothing below the cursor can
    still appear. Newer events are therefore sent again on the next read (readers skip ids they have).
    A full page moves the cursor to its end all the same, or a burst of events would stall the reader.
    """
    events = list(session.scalars(
        select(StackEvent).join(StackRecord).where(StackRecord.operation_id == operation.id, StackEvent.id > after)
        .order_by(StackEvent.id).limit(limit)
    ))
    if len(events) == limit:
        return events, events[-1].id
    settled_before = datetime.now(UTC) - timedelta(seconds=REPLAY_SECONDS)
    settled = [event.id for event in events if as_utc(event.recorded_at) < settled_before]
    return events, max(settled, default=after)
