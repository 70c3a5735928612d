"""One look at a running stack: store its new events, settle it when it ended, else say when next.

The stack's own events carry its status, so a poll is one DescribeStackEvents call. DescribeStacks
comes only where events cannot do: every ``SAFETY_CHECK_EVERY`` polls as a cross-check, and once
at the end of a stack that completed, for its outputs (a failed or deleted stack has none to read).
Every call is counted in the stack's budget (worker/cadence.py), which decides the next look.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import StackEvent, StackRecord
from core.models.operations import StackPhase
from worker import cadence
from worker.deployer import Deployer
from worker.event_store import drop_unconfirmed, store_events
from worker.events import Event, EventsError, fetch_new_events
from worker.stack_status import StackState, classify

logger = logging.getLogger(__name__)

# Every this many polls, DescribeStacks double-checks the status the events imply.
SAFETY_CHECK_EVERY = 10


def expected_resources(record: StackRecord) -> set[str]:
    """The logical ids the record's change set touches."""
    return {c.get("logical_id", "") for c in record.changes or [] if c.get("logical_id")}


def poll_stack(session: Session, record: StackRecord, deployer: Deployer, cfn: Any,
               expected: set[str]) -> float | None:
    """One poll: store new events; when the stack settled, settle the record; else say when next."""
    budget = cadence.Budget.from_detail(record.detail).spend(time.time())
    polls = int(record.detail.get("polls", 0)) + 1
    stack_ref = record.stack_id or record.stack_name
    store_events(session, record, fetch_new_events(cfn, stack_ref, record.last_event_id))
    progress = read_progress(session, record)
    status, described = progress.stack_status, None
    if polls % SAFETY_CHECK_EVERY == 0 and not settled(status):
        # Now and then ask the stack itself, in case an event was missed.
        described = deployer.describe_stack(stack_ref)
        budget = budget.spend(time.time())
        status = described.status if described is not None else "DELETE_COMPLETE"
        if settled(status):
            # It ended between the two calls: read its final events before settling, so that
            # none is lost (the stack's own final event among them).
            store_events(session, record, _final_events(cfn, stack_ref, record))
            budget = budget.spend(time.time())
            progress = read_progress(session, record)
            if progress.stack_status != status:
                logger.warning("stack %s in account %s is %s, but its events end with %r",
                               record.stack_name, record.account_id, status, progress.stack_status)
    if status:
        record.stack_status = status
    if not settled(status):
        record.detail = {**record.detail, **budget.as_detail(), "polls": polls}
        return cadence.next_delay(progress, expected, budget, time.time())
    if described is None and classify(status) is StackState.COMPLETE and record.phase != StackPhase.DELETING.value:
        # Only DescribeStacks has the outputs.
        described = deployer.describe_stack(stack_ref)
        budget = budget.spend(time.time())
        if described is None:
            status = "DELETE_COMPLETE"  # deleted right after it completed
    record.detail = {**record.detail, **budget.as_detail(), "polls": polls}
    if drop_unconfirmed(session, record, progress.stack_status):
        logger.info("dropped queued events of an earlier operation of %s in account %s", record.stack_name,
                    record.account_id)
    if described is not None:
        settle(record, described.status, described.reason, described.outputs)
    else:
        settle(record, status, progress.stack_reason, {})
    return None


def _final_events(cfn: Any, stack_ref: str, record: StackRecord) -> list[Event]:
    try:
        return fetch_new_events(cfn, stack_ref, record.last_event_id)
    except EventsError as err:
        # A deleted stack can be read by id only; by name there is nothing left to read.
        logger.warning("cannot read the final events of %s in account %s: %s", record.stack_name,
                       record.account_id, err)
        return []


def settle(record: StackRecord, status: str, reason: str, outputs: dict[str, str]) -> None:
    """Record the stack's final status: done when it is what the phase wanted, else failed with why."""
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


def settled(status: str) -> bool:
    return bool(status) and status != "REVIEW_IN_PROGRESS" and classify(status).is_terminal


def read_progress(session: Session, record: StackRecord) -> cadence.Progress:
    """What this record's stored events say, oldest first (Progress keeps the latest operation's)."""
    session.flush()
    rows = session.execute(
        select(StackEvent.logical_id, StackEvent.resource_type, StackEvent.status, StackEvent.timestamp,
               StackEvent.reason)
        .where(StackEvent.stack_record_id == record.id)
        .order_by(StackEvent.timestamp, StackEvent.id)
    ).all()
    return cadence.Progress.from_events(record.stack_name, ((r[0], r[1], r[2], _epoch(r[3]), r[4]) for r in rows))


def _epoch(moment: datetime) -> float:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
