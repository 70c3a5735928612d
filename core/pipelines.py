"""Rules the dashboard's two sides share: stage and action names, interest and read cadence.

Which setups have a pipeline is whether they are deployed: core/lifecycle.py deployed_setup_ids.

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

from core import stacks
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
