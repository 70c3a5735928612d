"""Keep each applied setup's pipeline snapshot fresh, at a cadence set by interest, never by viewers.

Every worker's timer queues ``worker.refresh_pipelines`` (worker/pipeline_tick.py). The task
makes sure every deployed setup has a snapshot row (and drops the rows of torn-down ones), then
reads each pipeline whose ``next_read_at`` has come. A read is claimed with a conditional UPDATE
first, so however many workers tick, one read of a pipeline is in flight at a time (Superset's
missing deduplication, SIP-141). After the read, ``next_read_at`` moves by core/pipelines.py's
interval: seconds while someone watches, minutes while nobody does. The
portal only moves ``watched_until`` (and ``next_read_at`` to now when a page opens unwatched).

While the setup's event queue brings the pipeline's events (worker/event_flow.py), the consumer
applies each to the snapshot as it comes (worker/pipeline_events.py) and a read is the check
that follows, at most every ``pipeline_events.EVENT_READ_SECONDS`` watched or not.

A failed build of the newest execution gets the tail of its log once (worker/build_logs.py); later
reads copy it from the stored snapshot.

A read that fails (throttled past botocore's standard retries, access denied) keeps the stored
snapshot and records why beside it; the page shows the older state "as of" its read.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core import lifecycle, pipelines
from core.models import Operation, OperationKind, OperationStatus, PipelineSnapshot, Setup, utcnow
from worker import aws_errors, build_logs, context, db, event_flow, pipeline_events
from worker.celery_app import app
from worker.pipeline_state import read_pipeline
from worker.sessions import AccessError

logger = logging.getLogger(__name__)

# The portal user a dashboard read is made as: CloudTrail shows RoleSessionName portal-dashboard.
READER = "dashboard"
# A claimed read that has not finished after this long (its worker died) may be claimed again.
CLAIM_SECONDS = 60
# Pipelines read per tick at most; the rest are due still and wait for the next tick.
READS_PER_TICK = 50


def sync_rows(session: Session) -> None:
    """Give every deployed setup a snapshot row naming its pipeline; drop the rows of the others."""
    deployed = set(lifecycle.deployed_setup_ids(session))
    rows = {row.setup_id: row for row in session.scalars(select(PipelineSnapshot))}
    gone = set(rows) - deployed
    if gone:
        session.execute(delete(PipelineSnapshot).where(PipelineSnapshot.setup_id.in_(gone)))
    for setup_id in sorted(deployed):
        setup = session.get(Setup, setup_id)
        assert setup is not None
        name, account, region = pipeline_location(session, setup)
        row = rows.get(setup_id)
        if row is None:
            session.add(PipelineSnapshot(setup_id=setup_id, pipeline_name=name, account_id=account, region=region,
                                         next_read_at=utcnow()))
        elif (row.pipeline_name, row.account_id, row.region) != (name, account, region):
            # Re-applied elsewhere: what was read of the old pipeline says nothing of the new one.
            row.pipeline_name, row.account_id, row.region = name, account, region
            row.stages, row.executions, row.approval, row.approval_token = [], [], {}, ""
            row.read_at, row.next_read_at, row.version = None, utcnow(), row.version + 1
    try:
        session.commit()
    except IntegrityError:  # another worker added the same row meanwhile: its row is as good
        session.rollback()


def pipeline_location(session: Session, setup: Setup) -> tuple[str, str, str]:
    """The pipeline's name (as the apply's stack outputs said), build account and region."""
    applied = session.scalar(select(Operation).where(
        Operation.setup_id == setup.id, Operation.kind == OperationKind.APPLY.value,
        Operation.status == OperationStatus.SUCCEEDED.value).order_by(Operation.id.desc()).limit(1))
    recorded = (applied.detail or {}).get("pipeline_name") if applied is not None else None
    return (str(recorded or pipelines.pipeline_name(setup.name or "")), setup.build_account_id or "",
            setup.region or "")


def claim(factory: sessionmaker[Session], snapshot_id: int, now: datetime) -> bool:
    """Take the read of one due snapshot; False when another worker holds it or it is not due."""
    with factory() as session:
        taken = session.execute(
            update(PipelineSnapshot)
            .where(PipelineSnapshot.id == snapshot_id,
                   or_(PipelineSnapshot.next_read_at.is_(None), PipelineSnapshot.next_read_at <= now),
                   or_(PipelineSnapshot.claimed_until.is_(None), PipelineSnapshot.claimed_until < now))
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        ).rowcount
        session.commit()
    return taken == 1


def due(factory: sessionmaker[Session], now: datetime) -> list[int]:
    with factory() as session:
        return list(session.scalars(
            select(PipelineSnapshot.id)
            .where(or_(PipelineSnapshot.next_read_at.is_(None), PipelineSnapshot.next_read_at <= now))
            .order_by(PipelineSnapshot.next_read_at).limit(READS_PER_TICK)))


def refresh(factory: sessionmaker[Session], snapshot_id: int, now: datetime | None = None) -> bool:
    """Read one snapshot's pipeline if it is due and nobody else is reading it; True if read."""
    now = now or utcnow()
    if not claim(factory, snapshot_id, now):
        return False
    with factory() as session:
        row = session.get(PipelineSnapshot, snapshot_id)
        if row is None:
            return False
        setup = session.get(Setup, row.setup_id)
        try:
            aws = context.for_user(READER, setup)
            found = read_pipeline(aws.codepipeline(row.account_id), row.pipeline_name, row.stages or [],
                                  row.executions or [])
        except (ClientError, BotoCoreError, AccessError) as err:
            _record_failure(row, err, now)
        else:
            newest = found.executions[0]["id"] if found.executions else None
            account = row.account_id
            build_logs.attach_tails(found.stages, row.stages or [], newest,
                                    lambda service: aws.sessions.client(account, service))
            _store(row, found, now)
        session.flush()
        # Decided in the UPDATE itself: a page that opened while AWS was being read has marked the row
        # watched meanwhile, and the row loaded before the read would say it is not. Timed from the tick's
        # moment, so reads keep their cadence however long one took.
        watched = PipelineSnapshot.watched_until > now
        next_read = case((watched, now + pipelines.read_interval(True)), else_=now + pipelines.read_interval(False))
        if event_flow.pipeline_events_flowing(session, row.setup_id, now.timestamp()):
            next_read = case((watched, now + timedelta(seconds=pipeline_events.EVENT_READ_SECONDS)),
                             else_=now + pipelines.read_interval(False))
        session.execute(update(PipelineSnapshot).where(PipelineSnapshot.id == snapshot_id).values(
            next_read_at=next_read, claimed_until=None,
        ).execution_options(synchronize_session=False))
        session.commit()
    return True


def _store(row: PipelineSnapshot, found: Any, now: datetime) -> None:
    shown = (found.stages, found.executions, found.approval, "")
    if shown != (row.stages, row.executions, row.approval, row.read_error):
        row.version += 1
    row.stages, row.executions, row.approval = found.stages, found.executions, found.approval
    row.approval_token = found.approval_token
    row.active = found.active
    row.read_error, row.read_error_at = "", None
    row.read_at = utcnow()


def _record_failure(row: PipelineSnapshot, err: Exception, now: datetime) -> None:
    # An AssumeRole refusal arrives wrapped (worker/sessions.py AssumeRoleFailed), raised from AWS's error.
    aws = err if isinstance(err, ClientError) else err.__cause__
    if isinstance(aws, ClientError) and aws_errors.is_throttling(aws):
        reason = "AWS throttled the reads of this pipeline beyond the retries; the next read tries again."
    elif isinstance(aws, ClientError) and aws_errors.is_pipeline_missing(aws):
        reason = f"AWS says there is no pipeline {row.pipeline_name} in account {row.account_id} ({row.region})."
    else:
        reason = f"The pipeline could not be read: {err}"
    logger.warning("reading pipeline %s in account %s (%s) failed: %s", row.pipeline_name, row.account_id,
                   row.region, err)
    if reason != row.read_error:
        row.version += 1
    row.read_error, row.read_error_at = reason, now


@app.task(name="worker.refresh_pipelines")
def refresh_pipelines(now: datetime | None = None) -> int:
    """Sync the snapshot rows, then read every pipeline that is due at ``now``; return how many were read."""
    factory = db.session_factory()
    with factory() as session:
        sync_rows(session)
    now = now or utcnow()
    read = 0
    for snapshot_id in due(factory, now):
        try:
            read += refresh(factory, snapshot_id, now)
        except Exception:  # one broken pipeline must not keep the others unread
            logger.exception("refreshing pipeline snapshot %s failed", snapshot_id)
    return read
