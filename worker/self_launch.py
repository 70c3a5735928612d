"""Wait for a stack the account's admin launches: the worker only reads in that account.

The worker reaches a self-launched account through the application's observer role, which the
admin's own deploy stack creates (templates_cfn/deploy-dependencies.yaml, ``PortalPrincipalArn``).
So until the admin launches the stack, AssumeRole fails: that is "not launched yet", not an
error, and the record stays WAITING. Once the role can be assumed the worker reads the stack and
its events; a complete stack settles the record with its outputs and the apply carries on.

A failed launch does not fail the apply either: the record keeps waiting with the root cause (the
first failed resource of the latest attempt) as its reason, until the admin fixes the stack and
launches it again.

Only events of the admin's launch count: the first step takes the newest event as a marker; when
the stack cannot be read yet (no observer role), the events from the wait's start time on count.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import stacks
from core.models import StackEvent, StackRecord, StackRole, utcnow
from core.models.operations import StackPhase
from worker import cadence, templates
from worker.context import AwsContext
from worker.deployer import Deployer, Stack
from worker.event_store import store_events
from worker.events import STACK_TYPE, fetch_new_events, newest_event_id
from worker.polling import settle
from worker.root_cause import is_cancellation
from worker.sessions import AssumeRoleFailed
from worker.stack_status import StackState

logger = logging.getLogger(__name__)

WAITING_POLL_SECONDS = 5.0
# A stack's own statuses that start an operation: the latest one begins the admin's latest attempt.
_ATTEMPT_STARTS = ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "IMPORT_IN_PROGRESS")


def waiting_poll() -> float:
    """A person launches the stack: looking every few seconds is soon enough."""
    return max(WAITING_POLL_SECONDS * cadence.Limits.from_settings().steady / cadence.STEADY_SECONDS, 0.1)


def wait_for_launch(session: Session, record: StackRecord, aws: AwsContext) -> float | None:
    """One look at the admin's stack; return when to look again, or None once it is complete."""
    since = _watch_since(record)
    cfn = aws.cfn(record.account_id)
    deployer = Deployer(cfn)
    try:
        _take_marker(record, cfn)
        stack = deployer.describe_stack(record.stack_name)
        if stack is None or stack.state is StackState.ABSENT:
            record.status_reason = _not_launched(record)
            return waiting_poll()
        record.stack_id = stack.stack_id
        launched = _store_new_events(session, record, cfn, since)
        if launched and stack.state is not StackState.IN_PROGRESS:
            # The admin's launch may have begun between that status and these events: a stale
            # CREATE_COMPLETE beside the new attempt's events would settle it. Read the status again
            # (at least as new as the events), then the events up to it.
            stack = deployer.describe_stack(record.stack_id) or stack
            _store_new_events(session, record, cfn, since)
    except AssumeRoleFailed as err:
        record.status_reason = _unobservable(session, record, err)
        logger.info("waiting for %s in account %s (region %s): %s", record.stack_name, record.account_id,
                    record.region, err)
        return waiting_poll()
    if not launched and not record.detail.get("compared") and stack.state is StackState.COMPLETE:
        # A stack from an earlier launch may already be exactly what the plan wants.
        record.detail = {**record.detail, "compared": True}
        if stack.parameters == record.parameters and _same_template(deployer, record):
            settle(record, stack.status, "already up to date; nothing for the account's admin to do", stack.outputs)
            return None
    record.stack_status = stack.status
    if not launched:
        record.status_reason = _not_launched(record, stack=stack)
        return waiting_poll()
    if stack.state is StackState.IN_PROGRESS:
        record.status_reason = f"the account's admin launched {record.stack_name}: it is {stack.status}"
        return cadence.Limits.from_settings().steady
    if stack.state is StackState.COMPLETE:
        settle(record, stack.status, stack.reason, stack.outputs)
        return None
    record.status_reason = _failure(session, record, stack)
    logger.warning("self-launched %s in account %s (region %s) failed; waiting for its admin: %s",
                   record.stack_name, record.account_id, record.region, record.status_reason)
    return waiting_poll()


def wait_for_deletion(record: StackRecord, aws: AwsContext) -> float | None:
    """A teardown: wait until the admin deleted the stack; return when to look again, or None."""
    try:
        stack = Deployer(aws.cfn(record.account_id)).describe_stack(record.stack_id or record.stack_name)
    except AssumeRoleFailed as err:
        if not _through_observer(record, aws):
            raise
        # The observer role is one of the stack's own resources: with the stack gone, so is it.
        record.phase = StackPhase.DONE.value
        record.status_reason = (f"the portal can no longer assume {err.role_arn}, which {record.stack_name} "
                                "created: the account's admin deleted the stack")
        return None
    if stack is None or stack.state is StackState.ABSENT:
        record.stack_status = "DELETE_COMPLETE"
        record.phase = StackPhase.DONE.value
        return None
    record.stack_status = stack.status
    return waiting_poll()


def _watch_since(record: StackRecord) -> datetime:
    if "watch_since" not in record.detail:
        record.detail = {**record.detail, "watch_since": utcnow().isoformat()}
    return datetime.fromisoformat(record.detail["watch_since"])


def _take_marker(record: StackRecord, cfn: Any) -> None:
    """Once, at the wait's start: the admin may update a stack that exists, so only later events count."""
    if "marker_taken" in record.detail:
        return
    try:
        record.last_event_id = newest_event_id(cfn, record.stack_name)
    except AssumeRoleFailed:
        record.detail = {**record.detail, "marker_taken": False}
        raise
    record.detail = {**record.detail, "marker_taken": True}


def _store_new_events(session: Session, record: StackRecord, cfn: Any, since: datetime) -> bool:
    """Store the admin's new events; return whether the admin has launched the stack (now or before)."""
    new = fetch_new_events(cfn, record.stack_id, record.last_event_id)
    if not record.detail.get("marker_taken"):
        # No marker could be taken at the start: the events from the wait's start on are the admin's.
        ours = [e for e in new if e.timestamp >= since]
        if new:
            record.last_event_id = new[-1].event_id
        record.detail = {**record.detail, "marker_taken": True}
        new = ours
    store_events(session, record, new)
    if record.detail.get("launched"):
        return True
    if any(e.is_stack_event and e.status != "REVIEW_IN_PROGRESS" for e in new):
        record.detail = {**record.detail, "launched": True}
        return True
    return False


def _unobservable(session: Session, record: StackRecord, err: AssumeRoleFailed) -> str:
    """Why the stack cannot be seen: not launched yet, or a failed creation rolled the observer role back."""
    cause = _root_cause(session, record) if record.detail.get("launched") else None
    if cause is None:
        return _not_launched(record, err)
    record.detail = {**record.detail, "launch_failure": cause}
    return (f"the admin's launch of {record.stack_name} failed: {_describe(cause)}. Its rollback deleted "
            f"{err.role_arn}, so the portal sees no more of it. To go on, the admin deletes the stack and "
            "launches it again with the same command; the portal keeps waiting")


def _describe(cause: dict[str, str]) -> str:
    return f"{cause['resource']} ({cause['type']}) {cause['status']}: {cause['reason']}"


def _not_launched(record: StackRecord, err: AssumeRoleFailed | None = None, stack: Stack | None = None) -> str:
    waiting = f"waiting for the admin of account {record.account_id} to launch {record.stack_name}"
    if err is not None:
        return (f"{waiting}; until then the portal cannot assume {err.role_arn} "
                f"({'the stack creates it' if record.role == StackRole.DEPLOY.value else 'its observer role'})")
    if stack is not None:
        return f"{waiting}: it is {stack.status} from an earlier launch, not what this plan wants"
    if record.detail.get("launched"):
        return f"{waiting} again: the stack is gone"
    return waiting


def _failure(session: Session, record: StackRecord, stack: Stack) -> str:
    """The admin's failed launch, its root cause and what to do; the portal keeps waiting."""
    cause = _root_cause(session, record)
    record.detail = {**record.detail, "launch_failure": cause or {"status": stack.status, "reason": stack.reason}}
    why = _describe(cause) if cause else stack.reason or "no reason given"
    if stack.state is StackState.NEEDS_RECREATE:
        fix = "the admin deletes the stack and launches it again with the same command"
    elif stack.state is StackState.ROLLED_BACK:
        fix = "the stack was rolled back; the admin fixes the cause and runs the same command again"
    else:
        fix = "the admin resolves it in the CloudFormation console, then runs the same command again"
    return (f"the admin's launch of {record.stack_name} failed ({stack.status}): {why}. To go on, {fix}; "
            "the portal keeps waiting")


def _root_cause(session: Session, record: StackRecord) -> dict[str, str] | None:
    """The first failed resource of the latest attempt (cancelled siblings are consequences)."""
    session.flush()
    rows = session.scalars(select(StackEvent).where(StackEvent.stack_record_id == record.id)
                           .order_by(StackEvent.timestamp, StackEvent.id)).all()
    starts = [i for i, e in enumerate(rows) if e.resource_type == STACK_TYPE and e.logical_id == record.stack_name
              and e.status in _ATTEMPT_STARTS]
    attempt = rows[starts[-1]:] if starts else rows
    failed = [e for e in attempt if e.status.endswith("_FAILED") and not is_cancellation(e.reason)]
    first = next((e for e in failed if e.resource_type != STACK_TYPE), failed[0] if failed else None)
    if first is None:
        return None
    return {"resource": first.logical_id, "type": first.resource_type, "status": first.status,
            "reason": first.reason}


def _through_observer(record: StackRecord, aws: AwsContext) -> bool:
    role_arn = aws.access(record.account_id).role_arn or ""
    return bool(aws.sessions.observer_role) and role_arn.endswith(f":role/{aws.sessions.observer_role}")


def _same_template(deployer: Deployer, record: StackRecord) -> bool:
    name = stacks.TEMPLATES[StackRole(record.role)]
    return deployer.template_body(record.stack_id) == templates.load(name).body
