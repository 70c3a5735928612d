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

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import ONE_AT_A_TIME, Operation, OperationKind, OperationStatus, Setup
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
    def __init__(self, operation: Operation):
        super().__init__(f"{operation.kind.capitalize()} #{operation.id} is {operation.status}: only an operation "
                         "that no worker has started yet (pending) can be cancelled.")


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


def cancel_pending(session: Session, operation: Operation, username: str) -> Operation:
    """Cancel an operation no worker has started (a lost task, a request made by mistake), audited.

    The conditional UPDATE is the guard: a worker that starts it at the same moment wins or loses
    on the same row, never both.

    :raise NotCancellable: it is no longer pending (the refusal is audited)
    """
    target = f"setup {operation.setup_id}"
    won = session.execute(
        update(Operation)
        .where(Operation.id == operation.id, Operation.status == OperationStatus.PENDING.value)
        .values(status=OperationStatus.CANCELLED.value, finished_at=datetime.now(UTC),
                error=f"Cancelled by {username} before a worker started it.")
    ).rowcount == 1
    session.commit()
    session.refresh(operation)
    if not won:
        err = NotCancellable(operation)
        audit.record("operation.cancel", audit.DENIED, target=target, message=str(err),
                     detail={"operation": operation.id})
        session.commit()
        raise err
    audit.record("operation.cancel", audit.SUCCESS, target=target,
                 detail={"operation": operation.id, "kind": operation.kind})
    session.commit()
    log.info("%s cancelled pending %s operation %s of setup %s", username, operation.kind, operation.id,
             operation.setup_id)
    return operation
