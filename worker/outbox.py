"""The other half of "commit, then enqueue": re-send the task of an operation still pending.

The portal commits a pending operation, then sends its task. A portal that dies in between, or a
broker that loses the message, leaves the row pending with nothing queued, and the setup blocked
(the unique indexes allow one unfinished request). The pending row is the outbox entry: the
sweep sends its task again once it has waited long enough, at most once per wait per operation
(a conditional UPDATE of ``resent_at``, so two workers' sweeps never both send). Tasks are
idempotent, so a message that was only slow, not lost, costs a duplicate that does nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.models import Operation, OperationKind, OperationStatus

logger = logging.getLogger(__name__)

TASK_NAMES = {
    OperationKind.PLAN.value: "worker.plan_setup",
    OperationKind.APPLY.value: "worker.apply_setup",
    OperationKind.TEARDOWN.value: "worker.teardown_setup",
}


def _claim(session: Session, operation_id: int, now: datetime, cutoff: datetime) -> bool:
    """Take the right to re-send this operation's task now; False when it started or was just re-sent."""
    return session.execute(
        update(Operation)
        .where(Operation.id == operation_id, Operation.status == OperationStatus.PENDING.value,
               or_(Operation.resent_at.is_(None), Operation.resent_at < cutoff))
        .values(resent_at=now)
    ).rowcount == 1


def resend_stale(factory: sessionmaker[Session], send: Callable[[str, int], None], now: datetime,
                 wait: timedelta) -> list[int]:
    """Send again the task of each operation pending for longer than ``wait``; return their ids."""
    cutoff = now - wait
    with factory() as session:
        stale = session.execute(select(Operation.id, Operation.kind).where(
            Operation.status == OperationStatus.PENDING.value, Operation.created_at < cutoff,
            or_(Operation.resent_at.is_(None), Operation.resent_at < cutoff),
        ).order_by(Operation.id)).all()
        resent = []
        for operation_id, kind in stale:
            if not _claim(session, operation_id, now, cutoff):
                continue
            session.commit()  # claimed before sending: a crash after this costs one wait, not a duplicate storm
            try:
                send(TASK_NAMES[kind], operation_id)
            except Exception:  # noqa: BLE001 - kombu raises several connection error types
                logger.warning("cannot re-send the %s task of operation %s; the next sweep will", kind, operation_id,
                               exc_info=True)
                continue
            logger.warning("operation %s (%s) was pending for over %ss: its task was sent again",
                           operation_id, kind, int(wait.total_seconds()))
            resent.append(operation_id)
        return resent
