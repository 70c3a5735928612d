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
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from core import stacks
from core.models import Operation, OperationKind, OperationStatus, Setup, StackRecord, StackRole, utcnow
from core.models.operations import StackAction, StackPhase
from worker import apply, cadence, context, event_flow, plan, self_launch, settings, teardown, templates
from worker.context import AwsContext
from worker.deployer import ChangeSetEmpty, ChangeSetNotFound, Deployer, DeployerError
from worker.events import EventsError, fetch_new_events, newest_event_id
from worker.lifecycle import claim_lease, release_lease
from worker.polling import expected_resources, poll_stack, read_progress, settled
from worker.sessions import AccessError
from worker.stackspec import stack_tags
from worker.staging import StagingError

logger = logging.getLogger(__name__)

CHANGE_SET_POLL_SECONDS = 1.0
# Change sets of small stacks are often ready within half a second.
FIRST_CHANGE_SET_POLL_SECONDS = 0.5
# Detail keys that belong to one stack operation (a recreate's delete, then its create).
_PER_STACK_OPERATION = ("marker_taken", "delete_requested", "calls", "calls_since", "polls", "looked_at")
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
    return utcnow() + timedelta(seconds=delay) + settings.lease_grace()


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
        name = stacks.TEMPLATES[StackRole(record.role)]
        ref = deployer.create_change_set(record.stack_name, stacks.change_set_name(setup.id, operation.id),
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
        budget = cadence.Budget.from_detail(record.detail)
        if record.change_set_type == "UPDATE" and not record.detail.get("marker_taken"):
            # Only events after this one belong to this apply (the stack has a history).
            record.last_event_id = newest_event_id(cfn, record.stack_id or record.stack_name)
            budget = budget.spend(time.time())
            _flag(session, record, marker_taken=True, **budget.as_detail())
        budget = _execute(deployer, cfn, record, budget)
        _flag(session, record, executed=True, **budget.as_detail())
        # Nothing worth reading exists yet: the first look learns the pace of the stack's events.
        return cadence.Limits.from_settings().first_look
    return _look(session, record, setup, lambda: poll_stack(session, record, deployer, cfn, expected_resources(record)))


def _look(session: Session, record: StackRecord, setup: Setup, poll: Callable[[], float | None]) -> float | None:
    """Poll the stack, unless its events flow and neither its end nor the safety net's look is due."""
    now = time.time()
    flowing_until = event_flow.stack_events_flowing(session, setup.id, now)
    if flowing_until is not None and not settled(read_progress(session, record).stack_status):
        looked_at = float(record.detail.get("looked_at") or record.detail.get("calls_since") or now)
        wait = cadence.with_events(flowing_until, looked_at, now)
        if wait is not None:
            return wait
    delay = poll()
    record.detail = {**record.detail, "looked_at": time.time()}
    return delay


def _execute(deployer: Deployer, cfn: object, record: StackRecord, budget: cadence.Budget) -> cadence.Budget:
    """Execute the record's change set; return the budget with the calls made.

    ExecuteChangeSet itself refuses a change set that is gone (ChangeSetNotFound) or not
    executable (InvalidChangeSetStatus: failed, obsolete, executed), so no DescribeChangeSet
    precedes it. Either answer also comes when a previous worker executed it and died before
    recording that: the stack then moved since the marker, and following it is all that is left.
    """
    missing: ChangeSetNotFound | None = None
    try:
        executed = deployer.execute_change_set(record.stack_name, record.change_set_name)
    except ChangeSetNotFound as err:
        executed, missing = False, err
    budget = budget.spend(time.time())
    if executed:
        return budget
    budget = budget.spend(time.time())  # the events call of the check below
    if _moved_since_marker(cfn, record):
        logger.info("change set %s of %s in account %s was executed before; following the stack",
                    record.change_set_name, record.stack_name, record.account_id)
        return budget
    where = f"change set {record.change_set_name} of stack {record.stack_name} in account {record.account_id}"
    if missing is not None:
        raise StepFailed(f"the reviewed {where} no longer exists (deleted, or dropped when another change "
                         "set of the stack ran); plan again") from missing
    raise StepFailed(f"the reviewed {where} is not executable any more (failed, obsolete or executed by "
                     "someone else since the plan); plan again")


def _moved_since_marker(cfn: object, record: StackRecord) -> bool:
    """Whether the stack started an operation after the record's marker (one events call).

    Only a start counts: the end of an operation that was already running at the marker (an
    update someone made in the console) is not this apply's doing. A CREATE change set's stack
    shows REVIEW_IN_PROGRESS from the plan: that is no start either.
    """
    try:
        new = fetch_new_events(cfn, record.stack_id or record.stack_name, record.last_event_id)
    except EventsError:
        return False  # no stack at all: nothing was executed
    return any(e.is_stack_event and e.status in cadence.OPERATION_STARTS and e.status != "REVIEW_IN_PROGRESS"
               for e in new)


def _step_deleting(session: Session, record: StackRecord, setup: Setup, aws: AwsContext) -> float | None:
    cfn = aws.cfn(record.account_id)
    deployer = Deployer(cfn)
    if not record.detail.get("delete_requested"):
        teardown.before_delete(record, aws)
        record.last_event_id = newest_event_id(cfn, record.stack_id or record.stack_name)
        budget = cadence.Budget.from_detail(record.detail).spend(time.time())
        _flag(session, record, marker_taken=True, **budget.as_detail())
        deployer.delete_stack(record.stack_id or record.stack_name)
        _flag(session, record, delete_requested=True, **budget.spend(time.time()).as_detail())
    expected = expected_resources(record) if record.action == StackAction.DELETE.value else set()
    delay = _look(session, record, setup, lambda: poll_stack(session, record, deployer, cfn, expected))
    if delay is None and record.phase == StackPhase.DONE.value and record.action == StackAction.RECREATE.value:
        # The broken stack is gone: create it again from a fresh CREATE change set.
        record.phase, record.stack_id, record.last_event_id = StackPhase.CHANGE_SET.value, "", ""
        record.detail = {k: v for k, v in record.detail.items() if k not in _PER_STACK_OPERATION}
        return 0.0
    return delay


def _step_waiting(session: Session, record: StackRecord, operation: Operation, aws: AwsContext) -> float | None:
    """A self-launched stack: wait for the admin's stack to appear and complete (or to go, in teardown)."""
    if operation.kind == OperationKind.TEARDOWN.value:
        return self_launch.wait_for_deletion(record, aws)
    return self_launch.wait_for_launch(session, record, aws)


def _change_set_poll() -> float:
    return min(CHANGE_SET_POLL_SECONDS, cadence.Limits.from_settings().steady)
