"""Which queues carry a setup's events, and whether events are flowing for it right now.

A setup has an event path once an apply succeeded whose build stack output ``EventQueueUrl``
(docs/contracts.md, "Events:"); setups applied before the templates had one have none and are
polled as before. What the consumer saw of the queue is kept in that apply's ``detail["events"]``
(last message, last answer, last error): the monitors of a later apply read it there to decide
their cadence (worker/cadence.py ``with_events``), the dashboard's reads theirs
(worker/pipeline_refresh.py). Nothing else writes that key, and losing it costs only a
return to the polling cadence.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import lifecycle
from core.models import Operation, OperationKind, OperationStatus, Setup, StackRecord, StackRole

QUEUE_OUTPUT = "EventQueueUrl"
# Events count as flowing for a setup while one came within this long and the queue answered since.
FLOW_SECONDS = 30.0


@dataclass(frozen=True)
class Source:
    """One setup's event queue, in its build account."""

    setup_id: int
    operation_id: int  # the apply whose build stack made the queue; its detail keeps the flow
    queue_url: str
    account_id: str
    region: str


def _applied(session: Session, setup_id: int) -> Operation | None:
    return session.scalar(select(Operation).where(
        Operation.setup_id == setup_id, Operation.kind == OperationKind.APPLY.value,
        Operation.status == OperationStatus.SUCCEEDED.value).order_by(Operation.id.desc()).limit(1))


def source(session: Session, setup_id: int) -> Source | None:
    """The setup's event queue, from the newest succeeded apply's build stack outputs; None without one."""
    applied = _applied(session, setup_id)
    if applied is None:
        return None
    build = session.scalar(select(StackRecord).where(StackRecord.operation_id == applied.id,
                                                      StackRecord.role == StackRole.BUILD.value))
    url = (build.outputs or {}).get(QUEUE_OUTPUT) if build is not None else None
    if not url:
        return None
    return Source(setup_id, applied.id, str(url), build.account_id, build.region)


def sources(session: Session) -> list[Source]:
    """The queues of the deployed setups and of those being torn down (until the queue goes with
    the build stack, the first one deleted).

    One query for all of them: the consumer asks every few seconds, and a query per setup was
    most of its main-thread time with a hundred setups.
    """
    tearing_down = select(Operation.setup_id).where(
        Operation.kind == OperationKind.TEARDOWN.value,
        Operation.status.in_((OperationStatus.RUNNING.value, OperationStatus.WAITING.value)))
    wanted = set(lifecycle.deployed_setup_ids(session)) | set(session.scalars(tearing_down))
    if not wanted:
        return []
    applied = (select(Operation.setup_id, func.max(Operation.id).label("op_id"))
               .where(Operation.kind == OperationKind.APPLY.value,
                      Operation.status == OperationStatus.SUCCEEDED.value, Operation.setup_id.in_(wanted))
               .group_by(Operation.setup_id).subquery())
    build = (StackRecord.operation_id == applied.c.op_id) & (StackRecord.role == StackRole.BUILD.value)
    rows = session.execute(
        select(applied.c.setup_id, applied.c.op_id, StackRecord.outputs, StackRecord.account_id,
               StackRecord.region)
        .join(Setup, Setup.id == applied.c.setup_id).join(StackRecord, build).order_by(applied.c.setup_id))
    found = []
    for setup_id, operation_id, outputs, account_id, region in rows:
        url = (outputs or {}).get(QUEUE_OUTPUT)
        if url:
            found.append(Source(setup_id, operation_id, str(url), account_id, region))
    return found


def record(session: Session, operation_id: int, now: float, stack_events: int = 0, pipeline_events: int = 0,
           error: str = "") -> None:
    """Note one answer of the queue (or its failure) in the applying operation's detail."""
    operation = session.get(Operation, operation_id)
    if operation is None:
        return
    seen: dict[str, Any] = dict((operation.detail or {}).get("events") or {})
    if not (error or stack_events or pipeline_events or seen.get("error")) \
            and now - float(seen.get("answered_at") or 0) < FLOW_SECONDS / 3:
        return  # an empty answer soon after the last one: nothing worth a write
    if error:
        seen.update(error=error, error_at=now)
    else:
        seen.update(answered_at=now, error="")
        if stack_events:
            seen["stack_event_at"] = now
        if pipeline_events:
            seen["pipeline_event_at"] = now
    operation.detail = {**(operation.detail or {}), "events": seen}


def _state(session: Session, setup_id: int) -> dict[str, Any]:
    applied = _applied(session, setup_id)
    return dict(((applied.detail or {}).get("events") or {}) if applied is not None else {})


def _flowing(seen: dict[str, Any], key: str, now: float) -> bool:
    if seen.get("error"):
        return False
    last = seen.get(key)
    return last is not None and now - float(last) < FLOW_SECONDS


def stack_events_flowing(session: Session, setup_id: int, now: float | None = None) -> float | None:
    """Until when (epoch) stack events count as flowing for the setup, or None when they do not."""
    now = time.time() if now is None else now
    seen = _state(session, setup_id)
    return float(seen["stack_event_at"]) + FLOW_SECONDS if _flowing(seen, "stack_event_at", now) else None


def pipeline_events_flowing(session: Session, setup_id: int, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return _flowing(_state(session, setup_id), "pipeline_event_at", now)
