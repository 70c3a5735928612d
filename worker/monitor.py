"""Follow one stack record through its phases, one short step per task.

Each step reads where the record is (phase, flags in ``detail``, last event id), does at most a
few AWS calls and returns when to look again; nothing sleeps. Every AWS write is preceded by a
commit of what it needs to resume and followed by a commit saying it happened, and each write
is idempotent (an executed change set reports InvalidChangeSetStatus, a deleted stack deletes
again silently), so a worker killed at any point is replaced without doing anything twice.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Operation, OperationKind, OperationStatus, Setup, StackEvent, StackRecord, StackRole, utcnow
from core.models.operations import StackAction, StackPhase
from worker import apply, cadence, context, plan, teardown, templates
from worker.context import AwsContext
from worker.deployer import ChangeSetEmpty, ChangeSetNotFound, Deployer, DeployerError
from worker.events import EventsError, fetch_new_events, newest_event_id, store_events
from worker.lifecycle import LEASE_GRACE, claim_lease, release_lease
from worker.sessions import AccessError
from worker.stack_status import StackState, classify
from worker.stackspec import change_set_name, stack_tags
from worker.staging import StagingError

logger = logging.getLogger(__name__)

CHANGE_SET_POLL_SECONDS = 1.0
# Change sets of small stacks are often ready within half a second.
FIRST_CHANGE_SET_POLL_SECONDS = 0.5
WAITING_POLL_SECONDS = 5.0
FIRST_LOOK_SECONDS = 2.0
# Every this many polls, DescribeStacks double-checks the status the events imply.
SAFETY_CHECK_EVERY = 10
STEP_ERRORS = (DeployerError, EventsError, AccessError, StagingError, teardown.TeardownError,
               templates.TemplateError)


@dataclass(frozen=True)
class Follow:
    """A monitor step to schedule: follow ``record_id`` in ``delay`` seconds holding ``token``."""

    record_id: int
    token: str
    delay: float


class StepFailed(Exception):
    """The stack cannot go on; the reason is shown on its record."""


def follow(factory: sessionmaker[Session], record_id: int, token: str) -> tuple[Follow | None, int | None]:
    """Run one step; return the next follow (or None) and, when the record settled, its operation id."""
    with factory() as session:
        new_token = claim_lease(session, record_id, token, timedelta(seconds=cadence.STEADY_SECONDS))
        session.commit()
        if new_token is None:
            logger.info("stack record %s is followed by another task; dropping this one", record_id)
            return None, None
        record = session.get(StackRecord, record_id)
        assert record is not None
        operation = record.operation
        if StackPhase(record.phase).is_terminal or record.phase == StackPhase.PENDING.value \
                or OperationStatus(operation.status).is_terminal:
            release_lease(record)
            session.commit()
            return None, operation.id
        setup = session.get(Setup, operation.setup_id)
        assert setup is not None
        aws = context.for_operation(operation, setup)
        try:
            delay = step(session, record, operation, setup, aws)
        except (StepFailed, *STEP_ERRORS) as err:
            logger.warning("stack %s in account %s (region %s) failed: %s",
                           record.stack_name, record.account_id, record.region, err)
            record.phase, record.status_reason, delay = StackPhase.FAILED.value, str(err), None
        if delay is None:
            release_lease(record)
            session.commit()
            return None, operation.id
        record.lease_until = _lease_until(delay)
        session.commit()
        return Follow(record_id, new_token, delay), None


def _lease_until(delay: float) -> datetime:
    """The lease covers the wait until the next step plus the grace a slow broker may need."""
    return utcnow() + timedelta(seconds=delay) + LEASE_GRACE


def step(session: Session, record: StackRecord, operation: Operation, setup: Setup, aws: AwsContext) -> float | None:
    """Advance ``record`` by one step; return seconds until the next, or None when it settled."""
    phase = StackPhase(record.phase)
    if phase is StackPhase.CHANGE_SET:
        return _step_change_set(session, record, operation, setup, aws)
    if phase is StackPhase.EXECUTING:
        return _step_executing(session, record, setup, aws)
    if phase is StackPhase.DELETING:
        return _step_deleting(session, record, setup, aws)
    if phase is StackPhase.WAITING:
        return _step_waiting(session, record, operation, aws)
    return None


def _flag(session: Session, record: StackRecord, **flags: object) -> None:
    """Record that an AWS write happened (or is about to) and commit it at once."""
    record.detail = {**record.detail, **flags}
    session.commit()


def _step_change_set(session: Session, record: StackRecord, operation: Operation, setup: Setup,
                     aws: AwsContext) -> float | None:
    deployer = aws.deployer(record.account_id)
    if operation.kind == OperationKind.APPLY.value and not record.detail.get("change_set_requested"):
        # Recreating a stack that was in ROLLBACK_COMPLETE: its CREATE change set is made now.
        name = templates.DEPLOY_TEMPLATE if record.role == StackRole.DEPLOY.value else templates.BUILD_TEMPLATE
        ref = deployer.create_change_set(record.stack_name, change_set_name(setup.id, operation.id),
                                         templates.load(name), record.parameters, stack_tags(setup))
        record.change_set_name, record.change_set_id, record.change_set_type = ref.name, ref.change_set_id, "CREATE"
        record.stack_id, record.last_event_id = ref.stack_id, ""
        _flag(session, record, change_set_requested=True)
        return _change_set_poll()
    try:
        change_set = deployer.check_change_set(record.stack_name, record.change_set_name)
    except ChangeSetEmpty:
        if operation.kind != OperationKind.PLAN.value:
            raise StepFailed(f"change set {record.change_set_name} unexpectedly contains no changes") from None
        plan.on_change_set_empty(record)
        return None
    record.change_set_status = change_set.status
    if change_set.is_pending:
        return _change_set_poll()
    if operation.kind == OperationKind.PLAN.value:
        plan.on_change_set_ready(record, change_set)
        return None
    record.changes = [c.as_dict() for c in change_set.changes]
    record.stack_id = change_set.stack_id or record.stack_id
    record.phase = StackPhase.EXECUTING.value
    return 0.0


def _step_executing(session: Session, record: StackRecord, setup: Setup, aws: AwsContext) -> float | None:
    cfn = aws.cfn(record.account_id)
    deployer = Deployer(cfn)
    if not record.detail.get("executed"):
        reason = apply.check_build_inputs(session, record, setup, aws)
        if reason:
            raise StepFailed(reason)
        if record.change_set_type == "UPDATE" and not record.detail.get("marker_taken"):
            # Only events after this one belong to this apply (the stack has a history).
            record.last_event_id = newest_event_id(cfn, record.stack_id or record.stack_name)
            _flag(session, record, marker_taken=True)
        try:
            deployer.execute_change_set(record.stack_name, record.change_set_name)
        except ChangeSetNotFound:
            # CloudFormation drops change sets once executed: if the stack moved since the
            # marker, a previous worker executed it before dying; otherwise it was deleted.
            if not any(e.is_stack_event for e in fetch_new_events(cfn, record.stack_id, record.last_event_id)):
                raise
        _flag(session, record, executed=True)
        # Nothing worth reading exists yet: the first look comes one steady interval later.
        return min(cadence.Limits.from_env().steady, FIRST_LOOK_SECONDS)
    return _poll_stack(session, record, deployer, cfn, _expected(record))


def _step_deleting(session: Session, record: StackRecord, setup: Setup, aws: AwsContext) -> float | None:
    cfn = aws.cfn(record.account_id)
    deployer = Deployer(cfn)
    if not record.detail.get("delete_requested"):
        teardown.before_delete(record, setup, aws)
        record.last_event_id = newest_event_id(cfn, record.stack_id or record.stack_name)
        _flag(session, record, marker_taken=True)
        deployer.delete_stack(record.stack_id or record.stack_name)
        _flag(session, record, delete_requested=True)
    expected = _expected(record) if record.action == StackAction.DELETE.value else set()
    delay = _poll_stack(session, record, deployer, cfn, expected)
    if delay is None and record.phase == StackPhase.DONE.value and record.action == StackAction.RECREATE.value:
        # The broken stack is gone: create it again from a fresh CREATE change set.
        record.phase, record.stack_id, record.last_event_id = StackPhase.CHANGE_SET.value, "", ""
        record.detail = {k: v for k, v in record.detail.items()
                         if k not in ("marker_taken", "delete_requested")}
        return 0.0
    return delay


def _step_waiting(session: Session, record: StackRecord, operation: Operation, aws: AwsContext) -> float | None:
    """A self-launched stack: watch for the admin's stack to appear and settle (or to go, in teardown)."""
    cfn = aws.cfn(record.account_id)
    deployer = Deployer(cfn)
    stack = deployer.describe_stack(record.stack_name)
    gone = stack is None or stack.state is StackState.ABSENT
    if operation.kind == OperationKind.TEARDOWN.value:
        if gone:
            record.stack_status = "DELETE_COMPLETE"
            record.phase = StackPhase.DONE.value
            return None
        return _waiting_poll()
    if gone:
        return _waiting_poll()
    assert stack is not None
    record.stack_id = stack.stack_id
    new = fetch_new_events(cfn, stack.stack_id, record.last_event_id)
    store_events(session, record, new)
    launched = any(e.is_stack_event and e.status != "REVIEW_IN_PROGRESS" for e in new) \
        or record.detail.get("launched", False)
    if launched and not record.detail.get("launched"):
        record.detail = {**record.detail, "launched": True}
    if not launched and not record.detail.get("compared") and stack.state is StackState.COMPLETE:
        # A stack from an earlier launch may already be exactly what the plan wants.
        record.detail = {**record.detail, "compared": True}
        if stack.parameters == record.parameters and _same_template(deployer, record):
            record.status_reason = "already up to date; nothing for the account's admin to do"
            launched = True
    if not launched or stack.state is StackState.IN_PROGRESS:
        record.stack_status = stack.status
        return _waiting_poll() if not launched else cadence.Limits.from_env().steady
    _settle(record, stack.status, stack.reason, stack.outputs)
    return None


def _waiting_poll() -> float:
    """A person launches the stack: looking every few seconds is soon enough."""
    return max(WAITING_POLL_SECONDS * cadence.Limits.from_env().steady / cadence.STEADY_SECONDS, 0.1)


def _change_set_poll() -> float:
    return min(CHANGE_SET_POLL_SECONDS, cadence.Limits.from_env().steady)


def _same_template(deployer: Deployer, record: StackRecord) -> bool:
    name = templates.DEPLOY_TEMPLATE if record.role == StackRole.DEPLOY.value else templates.BUILD_TEMPLATE
    return deployer.template_body(record.stack_id) == templates.load(name).body


def _expected(record: StackRecord) -> set[str]:
    return {c.get("logical_id", "") for c in record.changes or [] if c.get("logical_id")}


def _poll_stack(session: Session, record: StackRecord, deployer: Deployer, cfn: object,
                expected: set[str]) -> float | None:
    """One poll: store new events; when the stack settled, read its outputs; else say when next."""
    calls = cadence.remember_call(record.detail.get("calls", []), time.time())
    polls = int(record.detail.get("polls", 0)) + 1
    stack_ref = record.stack_id or record.stack_name
    store_events(session, record, fetch_new_events(cfn, stack_ref, record.last_event_id))
    session.flush()
    # The stack's own events carry its status: no DescribeStacks needed while it runs.
    progress = cadence.Progress.from_events(record.stack_name, _event_tuples(session, record))
    status = progress.stack_status
    if polls % SAFETY_CHECK_EVERY == 0 and not _settled(status):
        # Now and then ask the stack itself, in case an event was missed.
        stack = deployer.describe_stack(stack_ref)
        calls = cadence.remember_call(calls, time.time())
        status = stack.status if stack is not None else "DELETE_COMPLETE"
    record.detail = {**record.detail, "calls": calls, "polls": polls}
    if status:
        record.stack_status = status
    if not _settled(status):
        return cadence.next_delay(progress, expected, calls, time.time())
    stack = deployer.describe_stack(stack_ref)
    if stack is None:
        _settle(record, "DELETE_COMPLETE", "", {})
    else:
        _settle(record, stack.status, stack.reason, stack.outputs)
    return None


def _settle(record: StackRecord, status: str, reason: str, outputs: dict[str, str]) -> None:
    record.stack_status, record.status_reason = status, reason
    state = classify(status)
    deleting = record.phase == StackPhase.DELETING.value
    if state is StackState.COMPLETE and not deleting:
        record.outputs = outputs
        record.phase = StackPhase.DONE.value
    elif state is StackState.ABSENT and deleting:
        record.phase = StackPhase.DONE.value
    else:
        if state is StackState.ROLLED_BACK:
            record.status_reason = f"the update was rolled back ({status}); fix the cause and plan again"
        elif state is StackState.NEEDS_RECREATE:
            record.status_reason = f"the creation failed and was rolled back ({status}); plan again to recreate it"
        else:
            record.status_reason = f"{status}: {reason}" if reason else status
        record.phase = StackPhase.FAILED.value


def _settled(status: str) -> bool:
    return bool(status) and status != "REVIEW_IN_PROGRESS" and classify(status).is_terminal


def _event_tuples(session: Session, record: StackRecord) -> list[tuple[str, str, str, float]]:
    """This record's stored events, oldest first (Progress keeps those of the latest operation)."""
    rows = session.execute(
        select(StackEvent.logical_id, StackEvent.resource_type, StackEvent.status, StackEvent.timestamp)
        .where(StackEvent.stack_record_id == record.id)
        .order_by(StackEvent.timestamp, StackEvent.id)
    ).all()
    return [(r[0], r[1], r[2], _epoch(r[3])) for r in rows]


def _epoch(moment: datetime) -> float:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
