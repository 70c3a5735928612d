"""Operation and stack-record state changes that must hold across workers: guarded UPDATEs.

Each transition is one conditional UPDATE, so two workers racing on the same row (a redelivered
task, a resumed monitor, two applies of one setup) cannot both win.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.models import Operation, OperationKind, OperationStatus, StackRecord, utcnow
from worker import settings

logger = logging.getLogger(__name__)

ACTIVE = (OperationStatus.RUNNING.value, OperationStatus.WAITING.value)
CHANGING_KINDS = (OperationKind.APPLY.value, OperationKind.TEARDOWN.value)


class OperationRefused(Exception):
    """The operation may not run (another one is under way, the plan is stale, ...)."""


class ConcurrentChange(OperationRefused):
    def __init__(self, setup_id: int, other: Operation | None) -> None:
        what = f"{other.kind} operation {other.id}" if other else "another apply or teardown"
        super().__init__(f"setup {setup_id} already has {what} under way; wait for it to finish")


def start_operation(factory: sessionmaker[Session], operation_id: int) -> Operation | None:
    """Move a pending operation to running; return it, or None when there is nothing to do.

    An operation already running is returned too (the task was redelivered after a crash). For
    apply and teardown the unique partial index uq_operations_active_change refuses a second
    one on the same setup: that is the database-level guard against two concurrent applies.
    """
    with factory() as session:
        operation = session.get(Operation, operation_id)
        if operation is None:
            raise LookupError(f"operation {operation_id} does not exist")
        if OperationStatus(operation.status).is_terminal:
            logger.info("operation %s is already %s", operation_id, operation.status)
            return None
        setup_id = operation.setup_id
        try:
            session.execute(
                update(Operation)
                .where(Operation.id == operation_id, Operation.status == OperationStatus.PENDING.value)
                .values(status=OperationStatus.RUNNING.value, started_at=utcnow())
            )
            session.commit()
        except IntegrityError as err:
            session.rollback()
            other = session.scalars(select(Operation).where(
                Operation.setup_id == setup_id, Operation.id != operation_id,
                Operation.kind.in_(CHANGING_KINDS), Operation.status.in_(ACTIVE),
            )).first()
            raise ConcurrentChange(setup_id, other) from err
        session.refresh(operation)
        return operation


def set_status(session: Session, operation: Operation, status: OperationStatus) -> None:
    """Move a live operation to ``status``; one that has finished (or was cancelled) stays so.

    The condition is in the UPDATE, not read from ``operation``: an operator may have cancelled it
    since this worker loaded the row, and SQLite takes no row lock to order the two.
    """
    finished = tuple(s.value for s in OperationStatus if s.is_terminal)
    session.execute(
        update(Operation)
        .where(Operation.id == operation.id, Operation.status.not_in(finished + (status.value,)))
        .values(status=status.value)
        .execution_options(synchronize_session=False)
    )
    session.refresh(operation, ["status"])


def finish(session: Session, operation: Operation, status: OperationStatus, error: str = "") -> bool:
    """Record the outcome once; return False when another worker recorded it first."""
    result = session.execute(
        update(Operation)
        .where(Operation.id == operation.id, Operation.status.in_(ACTIVE + (OperationStatus.PENDING.value,)))
        .values(status=status.value, finished_at=utcnow(), error=error)
    )
    session.refresh(operation)
    return result.rowcount == 1


def fail(factory: sessionmaker[Session], operation_id: int, error: str) -> None:
    """Mark an operation failed with ``error`` in a fresh session (the caller's may be broken)."""
    with factory() as session:
        operation = session.get(Operation, operation_id)
        if operation is not None and finish(session, operation, OperationStatus.FAILED, error):
            logger.warning("operation %s failed: %s", operation_id, error)
        session.commit()


def claim_lease(session: Session, record_id: int, token: str, hold_for: timedelta) -> str | None:
    """Take the monitor lease of a stack record; return the new token, or None if another holds it."""
    now = utcnow()
    new_token = uuid.uuid4().hex
    result = session.execute(
        update(StackRecord)
        .where(StackRecord.id == record_id, or_(
            StackRecord.lease_token == token, StackRecord.lease_until.is_(None), StackRecord.lease_until < now,
        ))
        .values(lease_token=new_token, lease_until=now + hold_for + settings.lease_grace())
    )
    return new_token if result.rowcount == 1 else None


def release_lease(record: StackRecord) -> None:
    record.lease_token = ""
    record.lease_until = None
