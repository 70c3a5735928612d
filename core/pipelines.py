"""Rules the dashboard's two sides share: stage and action names, which setups have a pipeline, interest.

docs/contracts.md fixes the stage and action names (templates_cfn/build-pipeline.yaml creates
them); the portal shows them in this order and validates a retried stage against them, the
worker reads AWS's answer by them.

Cadence follows interest, not viewers: a page of a pipeline (or its live endpoint) marks the
snapshot watched for ``INTEREST_SECONDS``; the worker reads a watched pipeline every
``WATCHED_SECONDS`` and one nobody watches every ``BACKGROUND_SECONDS``. A watched pipeline is read
as often idle as running: a push may start an execution at any moment and nothing tells the worker
(no EventBridge here), yet an open page must show it within 5 s. Viewers only read the stored
snapshot, so AWS sees the same calls per pipeline per minute at 1 viewer as at 200.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core import stacks
from core.models import Operation, OperationKind, OperationStatus, Setup
from core.times import as_utc

SOURCE, BUILD, DEPLOY_STAGING, APPROVE_PRODUCTION, DEPLOY_PRODUCTION = (
    "Source", "Build", "DeployStaging", "ApproveProduction", "DeployProduction")
STAGES = (SOURCE, BUILD, DEPLOY_STAGING, APPROVE_PRODUCTION, DEPLOY_PRODUCTION)
ACTIONS = {SOURCE: ("Source",), BUILD: ("BuildAndTest",), DEPLOY_STAGING: ("Deploy",),
           APPROVE_PRODUCTION: ("CreateChangeSet", "Approve"), DEPLOY_PRODUCTION: ("ExecuteChangeSet",)}
APPROVAL_ACTION = (APPROVE_PRODUCTION, "Approve")
# A manual approval expires after 7 days unless its action sets a shorter timeout (CodePipeline).
APPROVAL_TIMEOUT = timedelta(days=7)

# CodePipeline's execution statuses, reduced: which of them are still running.
ACTIVE_EXECUTION_STATUSES = frozenset({"InProgress", "Stopping"})

INTEREST_SECONDS = 30.0
# The portal extends the interest only when less than this is left, so 200 viewers polling every
# 2 s write the row about once every 10 s, not 100 times a second.
INTEREST_RENEW_BELOW_SECONDS = 20.0
WATCHED_SECONDS = 3.0
BACKGROUND_SECONDS = 300.0


def pipeline_name(app: str) -> str:
    """The pipeline of application ``app`` (docs/contracts.md): the build stack's name."""
    return stacks.build_stack_name(app)


def read_interval(watched: bool) -> timedelta:
    """How long until the worker reads a pipeline again."""
    return timedelta(seconds=WATCHED_SECONDS if watched else BACKGROUND_SECONDS)


def is_watched(watched_until: datetime | None, now: datetime) -> bool:
    until = as_utc(watched_until)
    return until is not None and until > now


def deployed_setup_ids(session: Session, only: int | None = None) -> list[int]:
    """Setups with a pipeline the portal deployed: a succeeded apply and no teardown started since.

    A failed or unfinished re-apply leaves the pipeline in AWS (CloudFormation rolls an update back),
    so only a succeeded apply and a teardown that started (whatever its end) count. ``only`` asks about
    one setup (a page's question), without looking at the others.
    """
    counted = or_(
        and_(Operation.kind == OperationKind.APPLY.value, Operation.status == OperationStatus.SUCCEEDED.value),
        and_(Operation.kind == OperationKind.TEARDOWN.value,
             Operation.status.not_in((OperationStatus.CANCELLED.value, OperationStatus.PENDING.value))),
    )
    newest = select(Operation.setup_id, func.max(Operation.id).label("op_id")).where(counted)
    if only is not None:
        newest = newest.where(Operation.setup_id == only)
    newest = newest.group_by(Operation.setup_id).subquery()
    rows = session.execute(
        select(Setup.id).join(newest, newest.c.setup_id == Setup.id).join(Operation, Operation.id == newest.c.op_id)
        .where(Operation.kind == OperationKind.APPLY.value).order_by(Setup.id))
    return [row[0] for row in rows]
