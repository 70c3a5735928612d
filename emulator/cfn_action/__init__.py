"""CodePipeline's CloudFormation deploy action, doing its real work in the emulator.

``install()`` registers the starter with the engine's job seam (``emulator.codepipeline.jobs``):
every Deploy/CloudFormation action then runs as a ``job.DeployJob`` in its target account,
as the action's role, through the bucket and key policies, and ends when CloudFormation says so.
``POST /_emulator/actions {"simulate": true}`` makes them timed stand-ins again.
"""
from __future__ import annotations

import logging
import time

from moto.codepipeline.models import codepipeline_backends

from emulator.cfn_action.access import ActionError
from emulator.cfn_action.job import DeployJob
from emulator.codecommit import clone_urls
from emulator.codepipeline import jobs
from emulator.codepipeline.jobs import JobContext, Outcome

__all__ = ["install", "start"]

logger = logging.getLogger(__name__)


class _Failed:
    """A job that failed before it began (no server to call); the engine reads it like any other."""

    def __init__(self, error: ActionError, at: float) -> None:
        self._outcome = Outcome(False, at, error.message, error.code)

    def outcome(self) -> Outcome:
        return self._outcome

    def abandon(self) -> None:
        pass


def start(context: JobContext) -> DeployJob | _Failed:
    """Begin the action's work in its own thread (called under the engine's lock: no waiting here)."""
    region = context.pipeline_arn.split(":")[3] if context.pipeline_arn else context.region
    pipeline = codepipeline_backends[context.account_id][region].pipelines.get(context.pipeline_name)
    role = str(pipeline.pipeline.get("roleArn", "")) if pipeline is not None else context.role_arn
    endpoint = clone_urls.local_url()
    if endpoint is None:
        return _Failed(ActionError("The emulator's server is not running: the CloudFormation action calls "
                                            "CloudFormation over its HTTP API."), time.time())
    return DeployJob(context, role, endpoint).start()


def install() -> None:
    """Let Deploy/CloudFormation actions deploy for real (idempotent)."""
    jobs.register("Deploy", "CloudFormation", start)
    logger.debug("CloudFormation deploy action registered")
