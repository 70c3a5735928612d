"""CodePipeline for the emulator: executions that advance stage by stage and wait for approval.

``install()`` adds GetPipelineState, PutApprovalResult, StopPipelineExecution,
RetryStageExecution and ListActionExecutions to moto's CodePipeline, replaces its execution
handling with the engine, and registers AWS::CodePipeline::Pipeline with CloudFormation.
``push()`` is what a ``git push`` does: a commit, and executions of the watching pipelines.
"""
from __future__ import annotations

import logging

from emulator.cfn import clear_model_caches
from emulator.codepipeline import backend, responses, sources
from emulator.codepipeline import cfn_resource  # defining its class registers the resource type
from emulator.codepipeline.sources import UnknownRepositoryError
from emulator.codepipeline.triggers import PushResult, push
from emulator.patches import MOTO
from emulator.state import STATE

__all__ = ["PATCHES", "install", "push", "PushResult", "UnknownRepositoryError"]

logger = logging.getLogger(__name__)

PATCHES = backend.PATCHES + responses.PATCHES


def install() -> None:
    """Patch moto's CodePipeline backend and handlers and register the CloudFormation type (idempotent)."""
    applied = MOTO.install(PATCHES)
    clear_model_caches()  # moto caches its resource-type map; the new type must be seen
    cfn_resource.register_update_hook()
    STATE.on_reset(sources.reset)
    if applied:
        logger.debug("CodePipeline extension installed")
