"""The dashboard's reads and requests: snapshots as the worker stored them, interest, release/retry/stop.

The portal never reads AWS here. A page (or its live endpoint) records interest in a pipeline; the
worker reads a watched pipeline often and the others rarely (core/pipelines.py), so the AWS calls
per pipeline do not grow with viewers. Recording interest is the one write a GET makes: bookkeeping
of who looks, not a change anyone asked for, and done at most once every few seconds per pipeline.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import lifecycle, pipelines
from core.models import (PipelineRequest, PipelineRequestKind, PipelineRequestStatus, PipelineSnapshot, Setup,
                         utcnow)
from core.times import as_utc, from_iso
from portal import audit, queue

log = logging.getLogger(__name__)

TASKS = {PipelineRequestKind.RELEASE: "worker.start_release", PipelineRequestKind.RETRY: "worker.retry_stage",
         PipelineRequestKind.STOP: "worker.stop_execution"}
# StopPipelineExecution's reason holds at most 200 characters.
STOP_REASON_MAX = 200


class Refused(Exception):
    """The request cannot be sent (no pipeline known yet, nothing to stop, one already requested)."""

    def __init__(self, message: str, existing: PipelineRequest | None = None):
        super().__init__(message)
        self.existing = existing


def deployed_setups(session: Session, visible: ColumnElement[bool]) -> list[tuple[Setup, PipelineSnapshot | None]]:
    """Every setup with a deployed pipeline that ``visible`` keeps (portal.access.visible_setups), and its
    snapshot (None until the worker made the row)."""
    ids = lifecycle.deployed_setup_ids(session)
    if not ids:
        return []
    setups = {s.id: s for s in session.scalars(select(Setup).where(Setup.id.in_(ids), visible))}
    ids = [i for i in ids if i in setups]
    snapshots = {s.setup_id: s for s in session.scalars(select(PipelineSnapshot).where(
        PipelineSnapshot.setup_id.in_(ids)))}
    return [(setups[i], snapshots.get(i)) for i in ids]


def is_deployed(session: Session, setup: Setup) -> bool:
    return lifecycle.is_deployed(session, setup.id)


def snapshot_of(session: Session, setup_id: int) -> PipelineSnapshot | None:
    return session.scalar(select(PipelineSnapshot).where(PipelineSnapshot.setup_id == setup_id))


def record_interest(session: Session, setup: Setup, snapshot: PipelineSnapshot | None,
                    now: datetime | None = None) -> None:
    """Mark the pipeline watched for core.pipelines.INTEREST_SECONDS (see renew_interest)."""
    now = now or utcnow()
    if snapshot is None:
        # The worker's tick makes the row; this only lets an open page count from the first second.
        _add_row(session, setup, now + timedelta(seconds=pipelines.INTEREST_SECONDS), now)
        return
    renew_interest(session, snapshot.id, as_utc(snapshot.watched_until), now)
    if approval_unread(snapshot):
        # Opening a page is when its reader needs what an event cannot say: the waiting execution's commit
        # and the approval's CustomData. Once per approval, whoever opens: the read clears the condition.
        session.execute(update(PipelineSnapshot).where(PipelineSnapshot.id == snapshot.id)
                        .values(next_read_at=now).execution_options(synchronize_session=False))
        session.commit()


def approval_unread(snapshot: PipelineSnapshot) -> bool:
    """A manual approval is shown waiting from its event alone: no read has followed it yet."""
    since = from_iso((snapshot.approval or {}).get("since"))
    return since is not None and (snapshot.read_at is None or as_utc(snapshot.read_at) < since)


def renew_interest(session: Session, snapshot_id: int, watched_until: datetime | None,
                   now: datetime | None = None) -> datetime | None:
    """Extend the snapshot's interest if it runs out soon; ask for a read now if nobody watched.

    Only a row whose interest runs out within INTEREST_RENEW_BELOW_SECONDS is written, by a
    conditional UPDATE, so 200 viewers cost a write every few seconds, not 100 a second.
    :return: the new end of interest when this call wrote it, else None
    """
    now = now or utcnow()
    until = now + timedelta(seconds=pipelines.INTEREST_SECONDS)
    renew_below = now + timedelta(seconds=pipelines.INTEREST_RENEW_BELOW_SECONDS)
    if watched_until is not None and watched_until >= renew_below:
        return None
    values: dict[str, object] = {"watched_until": until}
    if not pipelines.is_watched(watched_until, now):
        values["next_read_at"] = now  # a page that opens gets a fresh read within a tick
    # No session sync: evaluating the WHERE in Python would compare SQLite's naive moments with aware ones,
    # and nothing reads the loaded row after this.
    session.execute(update(PipelineSnapshot).where(
        PipelineSnapshot.id == snapshot_id,
        or_(PipelineSnapshot.watched_until.is_(None), PipelineSnapshot.watched_until < renew_below),
    ).values(**values).execution_options(synchronize_session=False))
    session.commit()
    return until


def _add_row(session: Session, setup: Setup, until: datetime, now: datetime) -> None:
    session.add(PipelineSnapshot(setup_id=setup.id, pipeline_name=pipelines.pipeline_name(setup.name or ""),
                                 account_id=setup.build_account_id or "", region=setup.region or "",
                                 watched_until=until, next_read_at=now))
    try:
        session.commit()
    except IntegrityError:  # the worker (or another viewer) made it meanwhile
        session.rollback()


def latest_requests(session: Session, setup_id: int, limit: int = 10) -> list[PipelineRequest]:
    return list(session.scalars(select(PipelineRequest).where(PipelineRequest.setup_id == setup_id)
                                .order_by(PipelineRequest.id.desc()).limit(limit)))


def get_request(session: Session, setup_id: int, request_id: int) -> PipelineRequest | None:
    row = session.get(PipelineRequest, request_id) if 0 < request_id else None
    return row if row is not None and row.setup_id == setup_id else None


def request_release(session: Session, setup: Setup, username: str) -> PipelineRequest:
    return _record(session, setup, PipelineRequest(setup_id=setup.id, kind=PipelineRequestKind.RELEASE.value,
                                                   requested_by=username))


def request_retry(session: Session, setup: Setup, snapshot: PipelineSnapshot | None, stage: str,
                  username: str) -> PipelineRequest:
    """Retry ``stage``'s failed actions in the execution the snapshot shows there; AWS decides if it may.

    :raise Refused: no execution of that stage is known yet
    """
    shown = next((s for s in (snapshot.stages if snapshot else []) if s["name"] == stage), None)
    if shown is None or not shown.get("execution_id"):
        raise Refused(f"No execution of stage {stage} is known yet: wait for the pipeline's state to be read.")
    return _record(session, setup, PipelineRequest(setup_id=setup.id, kind=PipelineRequestKind.RETRY.value,
                                                   requested_by=username, stage=stage,
                                                   execution_id=shown["execution_id"]))


def request_stop(session: Session, setup: Setup, snapshot: PipelineSnapshot | None, reason: str,
                 username: str) -> PipelineRequest:
    """Stop the newest execution in progress (as the snapshot shows it), giving ``reason``.

    :raise Refused: no execution is in progress as far as the snapshot knows
    """
    running = next((e for e in (snapshot.executions if snapshot else [])
                    if e["status"] in pipelines.ACTIVE_EXECUTION_STATUSES), None)
    if running is None:
        raise Refused("No execution is in progress as of the last read of the pipeline: there is nothing to stop.")
    return _record(session, setup, PipelineRequest(setup_id=setup.id, kind=PipelineRequestKind.STOP.value,
                                                   requested_by=username, execution_id=running["id"],
                                                   reason=reason))


def _record(session: Session, setup: Setup, row: PipelineRequest) -> PipelineRequest:
    """Insert the request through the one-unfinished index, audit, commit, then send its task.

    :raise Refused: a request of the same kind is unfinished (a double click, another tab)
    """
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = session.scalar(select(PipelineRequest).where(
            PipelineRequest.setup_id == setup.id, PipelineRequest.kind == row.kind,
            PipelineRequest.status.in_((PipelineRequestStatus.PENDING.value, PipelineRequestStatus.RUNNING.value))))
        raise Refused(f"A {row.kind} of this pipeline was requested already"
                      + (f" (request #{existing.id}, {existing.status})" if existing else "")
                      + ": wait for it to be sent.", existing) from None
    audit.record(f"pipeline.{row.kind}", audit.SUCCESS, target=f"setup:{setup.id}",
                 detail={"request_id": row.id, "stage": row.stage, "execution_id": row.execution_id,
                         "reason": row.reason}, message="requested")
    session.commit()
    try:
        queue.enqueue(TASKS[PipelineRequestKind(row.kind)], row.id)
    except queue.QueueUnavailable as err:
        row.status, row.message, row.finished_at = PipelineRequestStatus.FAILED.value, str(err), utcnow()
        session.commit()
    return row
