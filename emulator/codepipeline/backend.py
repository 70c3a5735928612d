"""Operations added to (or replacing those of) moto's CodePipelineBackend.

Each one looks up and validates like CodePipeline does, raising its modelled errors, then lets
the engine catch up to the present before reading or changing executions.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from moto.codepipeline.models import CodePipeline, CodePipelineBackend

from emulator.codepipeline import declaration as declarations
from emulator.codepipeline import engine, sources, views
from emulator.codepipeline.errors import (
    ActionNotFoundException,
    ApprovalAlreadyCompletedException,
    ConflictException,
    DuplicatedStopRequestException,
    InvalidApprovalTokenException,
    InvalidNextTokenException,
    NotLatestPipelineExecutionException,
    PipelineExecutionNotFoundException,
    PipelineExecutionNotStoppableException,
    PipelineNameInUseException,
    PipelineNotFoundException,
    ResourceNotFoundException,
    StageNotFoundException,
    StageNotRetryableException,
    ValidationException,
)
from emulator.codepipeline.models import Commit, Execution
from emulator.patches import Kind, Patch, methods

logger = logging.getLogger(__name__)

DEFAULT_PAGE = 100


def _pipeline(self: CodePipelineBackend, name: str) -> CodePipeline:
    found = self.pipelines.get(name)
    if found is None:
        raise PipelineNotFoundException(f"Account '{self.account_id}' does not have a pipeline with name '{name}'")
    return found


def _caught_up(self: CodePipelineBackend, name: str) -> tuple[CodePipeline, float]:
    pipeline = _pipeline(self, name)
    now = time.time()
    engine.advance(pipeline, now)
    return pipeline, now


def _execution(self: CodePipelineBackend, pipeline: CodePipeline, execution_id: str) -> Execution:
    found = pipeline.executions.get(execution_id)
    if not isinstance(found, Execution):
        raise PipelineExecutionNotFoundException(
            f"Account '{self.account_id}' does not have an execution with id '{execution_id}' "
            f"for pipeline '{pipeline.pipeline['name']}'"
        )
    return found


def _stage(pipeline: CodePipeline, stage_name: str) -> dict[str, Any]:
    for stage in pipeline.pipeline["stages"]:
        if stage["name"] == stage_name:
            return stage
    raise StageNotFoundException(f"Stage '{stage_name}' does not exist in pipeline '{pipeline.pipeline['name']}'")


def _page(items: list[Any], max_results: int | None, next_token: str | None) -> tuple[list[Any], str | None]:
    try:
        offset = int(next_token) if next_token else 0
    except ValueError:
        raise InvalidNextTokenException("The next token was specified in an invalid format") from None
    if offset < 0 or offset > len(items):
        raise InvalidNextTokenException("The next token was specified in an invalid format")
    size = max_results or DEFAULT_PAGE
    end = offset + size
    return items[offset:end], (str(end) if end < len(items) else None)


def create_pipeline(self: CodePipelineBackend, pipeline: dict[str, Any], tags: list[dict[str, str]] | None,
                    created_by: str = "") -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Create a pipeline and, as AWS does, start its first execution."""
    with engine.LOCK:
        if pipeline["name"] in self.pipelines:
            raise PipelineNameInUseException(f"Pipeline name {pipeline['name']} is already in use")
        declarations.validate(declarations.with_defaults(pipeline), self.partition)
        pipeline["version"] = 1
        created = CodePipeline(self.account_id, self.region_name, pipeline)
        if tags:
            created.validate_tags(tags)
            created.tags.update({tag["key"]: tag["value"] for tag in tags})
        self.pipelines[pipeline["name"]] = created
        start_execution(self, created, "CreatePipeline", created_by)
        return created.pipeline, sorted(tags or [], key=lambda t: t["key"])


def update_pipeline(original: Any, self: CodePipelineBackend, pipeline: dict[str, Any]) -> dict[str, Any]:
    """Validate like CreatePipeline, then let moto bump the version; running executions keep theirs."""
    with engine.LOCK:
        if pipeline["name"] not in self.pipelines:
            raise ResourceNotFoundException(
                f"The account with id '{self.account_id}' does not include a pipeline with the name "
                f"'{pipeline['name']}'"
            )
        declarations.validate(declarations.with_defaults(pipeline), self.partition)
        return original(self, pipeline)


def start_execution(self: CodePipelineBackend, pipeline: CodePipeline, trigger_type: str, trigger_detail: str,
                    pushed: dict[str, Commit] | None = None, variables: list[dict[str, str]] | None = None,
                    overrides: list[dict[str, str]] | None = None, client_request_token: str | None = None) -> Execution:
    """Start an execution; each source action fetches the pushed commit, an override or its branch head."""
    now = time.time()
    engine.advance(pipeline, now)
    declaration = pipeline.pipeline
    chosen = dict(pushed or {})
    for override in overrides or []:
        chosen[override["actionName"]] = _override_commit(self, declaration, override, now)
    revisions = {}
    for action in declaration["stages"][0]["actions"]:
        commit = chosen.get(action["name"]) or sources.head(self.account_id, self.region_name, action)
        revisions[action["name"]] = sources.revision_for(self.account_id, self.region_name, action, commit)
    execution = Execution(declaration["name"], declaration, trigger_type, trigger_detail, now, revisions,
                          _resolve_variables(declaration, variables or []), client_request_token)
    engine.start(pipeline, execution)
    engine.advance(pipeline, now)
    return execution


def _override_commit(self: CodePipelineBackend, declaration: dict[str, Any], override: dict[str, str],
                     now: float) -> Commit:
    action = next((a for a in declaration["stages"][0]["actions"] if a["name"] == override["actionName"]), None)
    if action is None:
        raise ValidationException(f"Source action {override['actionName']} does not exist in the pipeline")
    if override.get("revisionType") != "COMMIT_ID":
        raise ValidationException(f"Revision type {override.get('revisionType')} is not supported for "
                                  f"action {override['actionName']}")
    known = sources.find_commit(self.account_id, self.region_name, action, override["revisionValue"])
    return known or Commit(override["revisionValue"], "", sources.branch_of(action), now)


def _resolve_variables(declaration: dict[str, Any], given: list[dict[str, str]]) -> list[dict[str, str]]:
    declared = {v["name"]: v.get("defaultValue") for v in declaration.get("variables") or []}
    values = {v["name"]: v["value"] for v in given}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValidationException(f"Variables {', '.join(unknown)} are not declared in pipeline {declaration['name']}")
    resolved = [{"name": n, "value": values.get(n, default)} for n, default in declared.items()]
    return [v for v in resolved if v["value"] is not None]


def start_pipeline_execution(self: CodePipelineBackend, name: str, variables: list[dict[str, str]] | None,
                             client_request_token: str | None = None,
                             source_revisions: list[dict[str, str]] | None = None, caller: str = "") -> str:
    with engine.LOCK:
        pipeline = _pipeline(self, name)
        for existing in engine.executions(pipeline):
            if client_request_token and existing.client_request_token == client_request_token:
                return existing.execution_id  # idempotent retry of the same request
        return start_execution(self, pipeline, "StartPipelineExecution", caller, variables=variables,
                               overrides=source_revisions, client_request_token=client_request_token).execution_id


def get_pipeline_state(self: CodePipelineBackend, name: str) -> dict[str, Any]:
    with engine.LOCK:
        pipeline, now = _caught_up(self, name)
        return views.pipeline_state(pipeline, now)


def get_pipeline_execution(self: CodePipelineBackend, pipeline_name: str, execution_id: str) -> dict[str, Any]:
    with engine.LOCK:
        pipeline, _ = _caught_up(self, pipeline_name)
        return views.execution_detail(_execution(self, pipeline, execution_id))


def list_pipeline_executions(self: CodePipelineBackend, pipeline_name: str, max_results: int | None,
                             next_token: str | None = None, succeeded_in_stage: str | None = None
                             ) -> tuple[list[dict[str, Any]], str | None]:
    with engine.LOCK:
        pipeline, _ = _caught_up(self, pipeline_name)
        found = list(reversed(engine.executions(pipeline)))  # most recent first
        if succeeded_in_stage:
            found = [e for e in found if e.stage_status.get(succeeded_in_stage) == "Succeeded"]
        page, token = _page(found, max_results, next_token)
        return [views.execution_summary(e) for e in page], token


def put_approval_result(self: CodePipelineBackend, pipeline_name: str, stage_name: str, action_name: str,
                        result: dict[str, str], token: str, caller: str) -> float:
    with engine.LOCK:
        pipeline, now = _caught_up(self, pipeline_name)
        stage = _stage(pipeline, stage_name)
        if not any(a["name"] == action_name for a in stage["actions"]):
            raise ActionNotFoundException(f"Action '{action_name}' does not exist in stage '{stage_name}'")
        if result.get("status") not in ("Approved", "Rejected"):
            raise ValidationException("The approval status must be Approved or Rejected")
        for execution in engine.executions(pipeline):
            for run in execution.runs:
                if run.stage_name == stage_name and run.name == action_name and run.token == token:
                    if run.status != "InProgress":
                        raise ApprovalAlreadyCompletedException(
                            f"Approval {action_name} in stage {stage_name} has already been completed"
                        )
                    engine.decide(pipeline, execution, run, result["status"] == "Approved",
                                  result.get("summary", ""), caller, now)
                    engine.advance(pipeline, now)
                    return now
        raise InvalidApprovalTokenException(f"The token {token} is not valid for approval {action_name}")


def stop_pipeline_execution(self: CodePipelineBackend, pipeline_name: str, execution_id: str,
                            abandon: bool, reason: str | None) -> str:
    with engine.LOCK:
        pipeline, now = _caught_up(self, pipeline_name)
        execution = _execution(self, pipeline, execution_id)
        if execution.status == "Stopping" and not abandon:
            raise DuplicatedStopRequestException(
                f"Execution {execution_id} is already stopping; only stop and abandon is possible now"
            )
        if not execution.active:
            raise PipelineExecutionNotStoppableException(
                f"Execution {execution_id} is {execution.status} and cannot be stopped"
            )
        engine.stop(pipeline, execution, abandon, reason, now)
        engine.advance(pipeline, now)
        return execution_id


def retry_stage_execution(self: CodePipelineBackend, pipeline_name: str, stage_name: str,
                          execution_id: str, retry_mode: str) -> str:
    with engine.LOCK:
        pipeline, now = _caught_up(self, pipeline_name)
        _stage(pipeline, stage_name)
        execution = _execution(self, pipeline, execution_id)
        if retry_mode not in ("FAILED_ACTIONS", "ALL_ACTIONS"):
            raise ValidationException("retryMode must be FAILED_ACTIONS or ALL_ACTIONS")
        if execution.active or execution.stage_status.get(stage_name) not in ("Failed", "Stopped"):
            raise StageNotRetryableException(
                f"Stage {stage_name} of execution {execution_id} has not failed or stopped, so it cannot be retried"
            )
        if execution.version != pipeline.pipeline["version"]:
            raise StageNotRetryableException(
                f"The pipeline changed since execution {execution_id} started, so its stages cannot be retried"
            )
        if engine.holder(pipeline, stage_name, execution) is not None:
            raise ConflictException(f"Stage {stage_name} is running another execution; try again later")
        if engine.latest_in_stage(pipeline, stage_name) is not execution:
            raise NotLatestPipelineExecutionException(
                f"A later execution has run stage {stage_name}; execution {execution_id} is out of date"
            )
        engine.retry(pipeline, execution, stage_name, retry_mode == "ALL_ACTIONS", now)
        engine.advance(pipeline, now)
        return execution_id


def list_action_executions(self: CodePipelineBackend, pipeline_name: str, execution_id: str | None,
                           max_results: int | None, next_token: str | None
                           ) -> tuple[list[dict[str, Any]], str | None]:
    with engine.LOCK:
        pipeline, _ = _caught_up(self, pipeline_name)
        chosen = [_execution(self, pipeline, execution_id)] if execution_id else engine.executions(pipeline)
        runs = sorted(((e, r) for e in chosen for r in e.runs), key=lambda pair: pair[1].seq, reverse=True)
        page, token = _page(runs, max_results, next_token)
        return [views.action_execution_detail(pipeline, e, r) for e, r in page], token


_BACKEND = "moto.codepipeline.models:CodePipelineBackend"

PATCHES = (
    *methods(_BACKEND, Kind.FUNCTION, "validate like CodePipeline and drive executions with the engine",
             create_pipeline=create_pipeline, start_pipeline_execution=start_pipeline_execution,
             get_pipeline_execution=get_pipeline_execution, list_pipeline_executions=list_pipeline_executions),
    Patch(f"{_BACKEND}.update_pipeline", update_pipeline, Kind.FUNCTION,
          "validate the declaration like CreatePipeline before moto stores it", wraps=True),
    *methods(_BACKEND, Kind.ABSENT, "operations moto's CodePipeline lacks",
             get_pipeline_state=get_pipeline_state, put_approval_result=put_approval_result,
             stop_pipeline_execution=stop_pipeline_execution, retry_stage_execution=retry_stage_execution,
             list_action_executions=list_action_executions),
)
