"""CodePipeline for the emulator: executions that advance stage by stage and wait for approval.

``install()`` adds GetPipelineState, PutApprovalResult, StopPipelineExecution,
RetryStageExecution and ListActionExecutions to moto's CodePipeline, replaces its execution
handling with the engine, and registers AWS::CodePipeline::Pipeline with CloudFormation.
``push()`` is what a ``git push`` does: a commit, and executions of the watching pipelines.
"""
from __future__ import annotations

import logging
import threading

from moto.cloudformation import parsing
from moto.codepipeline.models import CodePipelineBackend
from moto.codepipeline.responses import CodePipelineResponse

from emulator.codepipeline import backend, responses, sources
from emulator.codepipeline import cfn_resource  # defining its class registers the resource type
from emulator.codepipeline.sources import UnknownRepositoryError
from emulator.codepipeline.triggers import PushResult, push
from emulator.state import STATE

__all__ = ["install", "push", "PushResult", "UnknownRepositoryError"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Patch moto's CodePipeline backend and handlers and register the CloudFormation type (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        for name, operation in backend.OPERATIONS.items():
            setattr(CodePipelineBackend, name, operation)
        for name, handler in responses.HANDLERS.items():
            setattr(CodePipelineResponse, name, handler)
        # moto caches its resource-type map; forget it so the new subclass is seen.
        for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
            cached.cache_clear()
        cfn_resource.register_update_hook()
        STATE.on_reset(sources.reset)
        _installed = True
        logger.debug("CodePipeline extension installed")
