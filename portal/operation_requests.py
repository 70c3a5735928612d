"""Turning a request into an operation a worker runs: record it once, commit, then send its task.

The row is committed before the task is sent (a worker reads it), so a portal that dies in between
leaves a pending row with no message: the worker's sweep re-sends the task of a pending operation
(worker/outbox.py), and tasks are idempotent, so a second send is harmless. The database's unique
indexes (uq_operations_one_change, uq_operations_one_plan) make a second request of the same kind,
from another tab or another person, fail on the insert itself.
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import ONE_AT_A_TIME, Operation, OperationKind, OperationStatus, Setup, StackRecord
from core.models.operations import IN_FLIGHT_PHASES
from portal import audit, queue

log = logging.getLogger(__name__)

TASKS = {
    OperationKind.PLAN: queue.PLAN_SETUP,
    OperationKind.APPLY: queue.APPLY_SETUP,
    OperationKind.TEARDOWN: queue.TEARDOWN_SETUP,
}


class AlreadyRequested(Exception):
    """Another request of the same kind is unfinished; ``existing`` is it (None if it ended meanwhile)."""

    def __init__(self, existing: Operation | None):
        self.existing = existing
        if existing is None:
            what = "another request"
        else:
            what = f"{existing.kind.capitalize()} #{existing.id} of this setup is still {existing.status}"
        super().__init__(f"{what}: wait for it to finish (or cancel it while it is pending), then ask again.")


class NotCancellable(Exception):
    def __init__(self, operation: Operation, busy: list[StackRecord] | None = None):
        what = f"{operation.kind.capitalize()} #{operation.id}"
        if busy:
            stacks = ", ".join(f"{r.stack_name} in account {r.account_id}" for r in busy)
            super().__init__(f"{what} is waiting, but the worker is changing {stacks} right now: cancel it once "
                             "that has settled, so no stack is left half-changed.")
            return
        super().__init__(f"{what} is {operation.status}: only an operation that no worker has started yet "
                         "(pending), or one waiting for a self-launched stack while none of its stacks is "
                         "being changed, can be cancelled.")

def unfinished_rival(session: Session, setup_id: int, kind: OperationKind) -> Operation | None:
    """The operation that the unique index a new request of ``kind`` goes through holds already, if any."""
    rule = ONE_AT_A_TIME[kind]
    return session.scalars(select(Operation).where(
        Operation.setup_id == setup_id,
        Operation.kind.in_([k.value for k in rule.kinds]),
        Operation.status.in_([s.value for s in rule.statuses]),
    ).order_by(Operation.id).limit(1)).first()


def record_and_enqueue(session: Session, setup: Setup, kind: OperationKind, username: str, action: str,
                       plan_id: int | None = None) -> Operation:
    """Commit a pending operation, then send its task; a broker that is down fails it, audited.

    :raise AlreadyRequested: the unique index refused the row (nothing was written or sent)
    """
    # The task id is chosen up front and stored with the row, so nothing writes the row after the
    # worker may have started on it.
    task_id = str(uuid.uuid4())
    operation = Operation(setup_id=setup.id, kind=kind.value, status=OperationStatus.PENDING.value,
                          requested_by=username, plan_id=plan_id,
                          detail={"task_id": task_id, "setup_version": setup.version})
    session.add(operation)
    try:
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise AlreadyRequested(unfinished_rival(session, setup.id, kind)) from err
    target = f"setup {setup.id}"
    detail = {"operation": operation.id} | ({"plan": plan_id} if plan_id else {})
    try:
        queue.enqueue(TASKS[kind], operation.id, task_id=task_id)
    except queue.QueueUnavailable as err:
        operation.status = OperationStatus.FAILED.value
        operation.error = str(err)
        operation.finished_at = datetime.now(UTC)
        audit.record(action, audit.FAILED, target=target, message=str(err), detail=detail)
        session.commit()
        return operation
    audit.record(action, audit.SUCCESS, target=target, detail=detail)
    session.commit()
    return operation


def cancel(session: Session, operation: Operation, username: str) -> Operation:
    """Cancel an operation that is changing nothing in AWS, audited.

    Two kinds are safe to stop: a pending one (no worker started it: a lost task, a request made by
    mistake), and a waiting one (an apply or teardown watching for a stack an account's admin
    launches or deletes) while none of its stacks is in an in-flight phase. What the waiting one
    finished stays as it is, and its plan counts as used: the next plan shows what is left. The
    worker drops the stacks of a cancelled operation at its next look (worker/monitor.py).

    The guard is a conditional UPDATE: a worker that starts the operation, or starts a stack of it,
    at the same moment wins or loses on the same rows, never both. On PostgreSQL the row lock below
    also orders it with the worker's step that starts the next stacks (worker/orchestrate.py
    advance), which holds the same lock.

    :raise NotCancellable: it is running or finished, or a stack of it is being changed (the refusal is audited)
    """
    target = f"setup {operation.setup_id}"
    session.refresh(operation, with_for_update=True)
    was = operation.status
    if was == OperationStatus.WAITING.value:
        guard = (Operation.status == OperationStatus.WAITING.value) & ~_in_flight(operation.id).exists()
        error = f"Cancelled by {username} while it waited for a self-launched stack; the stacks it finished stay."
    else:
        guard = Operation.status == OperationStatus.PENDING.value
        error = f"Cancelled by {username} before a worker started it."
    won = session.execute(
        update(Operation).where(Operation.id == operation.id, guard)
        .values(status=OperationStatus.CANCELLED.value, finished_at=datetime.now(UTC), error=error)
    ).rowcount == 1
    session.commit()
    session.refresh(operation)
    if not won:
        busy = list(session.scalars(_in_flight(operation.id).order_by(StackRecord.id)))
        err = NotCancellable(operation, busy if operation.status == OperationStatus.WAITING.value else None)
        audit.record("operation.cancel", audit.DENIED, target=target, message=str(err),
                     detail={"operation": operation.id})
        session.commit()
        raise err
    audit.record("operation.cancel", audit.SUCCESS, target=target,
                 detail={"operation": operation.id, "kind": operation.kind, "was": was})
    session.commit()
    log.info("%s cancelled %s %s operation %s of setup %s", username, was, operation.kind, operation.id,
             operation.setup_id)
    return operation


def _in_flight(operation_id: int) -> Select[tuple[StackRecord]]:
    """The operation's stacks the worker is changing in AWS right now."""
    return select(StackRecord).where(StackRecord.operation_id == operation_id,
                                     StackRecord.phase.in_([phase.value for phase in IN_FLIGHT_PHASES]))
