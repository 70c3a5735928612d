"""The root cause of a failed operation: its first failed resource, read from the stored events."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import StackEvent, StackRecord
from worker.events import STACK_TYPE

# CloudFormation cancels the siblings of a failed resource; those are consequences, not causes.
_CANCELLED_MARKERS = ("resource creation cancelled", "resource update cancelled")


def is_cancellation(reason: str) -> bool:
    lowered = reason.lower()
    return any(marker in lowered for marker in _CANCELLED_MARKERS)


def root_cause(session: Session, records: Iterable[StackRecord]) -> dict[str, str] | None:
    """The first failed resource (oldest first) across ``records``, ignoring cancellations."""
    by_id = {r.id: r for r in records}
    if not by_id:
        return None
    failures = session.scalars(
        select(StackEvent)
        .where(StackEvent.stack_record_id.in_(by_id), StackEvent.status.like("%_FAILED"))
        .order_by(StackEvent.timestamp, StackEvent.id)
    ).all()
    candidates = [e for e in failures if not is_cancellation(e.reason)]
    # A resource's failure explains more than the stack's own summary event.
    resource_failures = [e for e in candidates if e.resource_type != STACK_TYPE]
    first = (resource_failures or candidates or [None])[0]
    if first is None:
        return None
    record = by_id[first.stack_record_id]
    return {
        "resource": first.logical_id, "type": first.resource_type, "reason": first.reason,
        "status": first.status, "stack": record.stack_name, "account": record.account_id,
        "region": record.region,
    }
