"""Request handlers added to (or replacing those of) moto's CodePipelineResponse.

moto dispatches on the ``X-Amz-Target`` operation name turned snake_case, looking the handler
up on the class, so adding a method here is enough to serve a new operation.
"""
from __future__ import annotations

import json
from typing import Any

from moto.codepipeline.responses import CodePipelineResponse

from emulator.codepipeline import views
from emulator.codepipeline.errors import PipelineNotFoundException, ValidationException
from emulator.patches import Kind, methods
from emulator.sts import resolve_caller


def _required(self: CodePipelineResponse, *names: str) -> list[Any]:
    values = [self._get_param(name) for name in names]
    missing = [name for name, value in zip(names, values) if value in (None, "")]
    if missing:
        raise ValidationException(f"1 validation error detected: {missing[0]} must not be null")
    return values


def _caller_arn(self: CodePipelineResponse) -> str:
    return resolve_caller(self.get_access_key(), self.current_account, self.partition).arn


def create_pipeline(self: CodePipelineResponse) -> str:
    (pipeline,) = _required(self, "pipeline")
    pipeline, tags = self.codepipeline_backend.create_pipeline(pipeline, self._get_param("tags"),
                                                               created_by=_caller_arn(self))
    return json.dumps({"pipeline": pipeline, "tags": tags})


def get_pipeline(self: CodePipelineResponse) -> str:
    (name,) = _required(self, "name")
    pipeline = self.codepipeline_backend.pipelines.get(name)
    if pipeline is None:
        raise PipelineNotFoundException(
            f"Account '{self.current_account}' does not have a pipeline with name '{name}'"
        )
    return json.dumps({"pipeline": pipeline.pipeline, "metadata": views.pipeline_metadata(pipeline)})


def list_pipelines(self: CodePipelineResponse) -> str:
    pipelines = sorted(self.codepipeline_backend.pipelines.values(), key=lambda p: p.pipeline["name"])
    return json.dumps({"pipelines": [views.pipeline_summary(p) for p in pipelines]})


def start_pipeline_execution(self: CodePipelineResponse) -> str:
    (name,) = _required(self, "name")
    execution_id = self.codepipeline_backend.start_pipeline_execution(
        name, self._get_param("variables"), self._get_param("clientRequestToken"),
        self._get_param("sourceRevisions"), caller=_caller_arn(self),
    )
    return json.dumps({"pipelineExecutionId": execution_id})


def get_pipeline_state(self: CodePipelineResponse) -> str:
    (name,) = _required(self, "name")
    return json.dumps(self.codepipeline_backend.get_pipeline_state(name))


def get_pipeline_execution(self: CodePipelineResponse) -> str:
    name, execution_id = _required(self, "pipelineName", "pipelineExecutionId")
    return json.dumps({"pipelineExecution": self.codepipeline_backend.get_pipeline_execution(name, execution_id)})


def list_pipeline_executions(self: CodePipelineResponse) -> str:
    (name,) = _required(self, "pipelineName")
    stage = ((self._get_param("filter") or {}).get("succeededInStage") or {}).get("stageName")
    summaries, token = self.codepipeline_backend.list_pipeline_executions(
        name, self._get_param("maxResults"), self._get_param("nextToken"), stage
    )
    return json.dumps(_with_token({"pipelineExecutionSummaries": summaries}, token))


def put_approval_result(self: CodePipelineResponse) -> str:
    name, stage, action, result, token = _required(
        self, "pipelineName", "stageName", "actionName", "result", "token"
    )
    approved_at = self.codepipeline_backend.put_approval_result(
        name, stage, action, result, token, _caller_arn(self)
    )
    return json.dumps({"approvedAt": approved_at})


def stop_pipeline_execution(self: CodePipelineResponse) -> str:
    name, execution_id = _required(self, "pipelineName", "pipelineExecutionId")
    stopped = self.codepipeline_backend.stop_pipeline_execution(
        name, execution_id, bool(self._get_param("abandon")), self._get_param("reason")
    )
    return json.dumps({"pipelineExecutionId": stopped})


def retry_stage_execution(self: CodePipelineResponse) -> str:
    name, stage, execution_id, mode = _required(
        self, "pipelineName", "stageName", "pipelineExecutionId", "retryMode"
    )
    retried = self.codepipeline_backend.retry_stage_execution(name, stage, execution_id, mode)
    return json.dumps({"pipelineExecutionId": retried})


def list_action_executions(self: CodePipelineResponse) -> str:
    (name,) = _required(self, "pipelineName")
    action_filter = self._get_param("filter") or {}
    execution_id = action_filter.get("pipelineExecutionId") or (
        action_filter.get("latestInPipelineExecution") or {}).get("pipelineExecutionId")
    details, token = self.codepipeline_backend.list_action_executions(
        name, execution_id, self._get_param("maxResults"), self._get_param("nextToken")
    )
    return json.dumps(_with_token({"actionExecutionDetails": details}, token))


def _with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        body["nextToken"] = token
    return body


_RESPONSE = "moto.codepipeline.responses:CodePipelineResponse"

PATCHES = (
    *methods(_RESPONSE, Kind.FUNCTION, "answer with the engine's state and CodePipeline's modelled errors",
             create_pipeline=create_pipeline, get_pipeline=get_pipeline, list_pipelines=list_pipelines,
             start_pipeline_execution=start_pipeline_execution, get_pipeline_execution=get_pipeline_execution,
             list_pipeline_executions=list_pipeline_executions),
    *methods(_RESPONSE, Kind.ABSENT, "request handlers of the operations moto's CodePipeline lacks",
             get_pipeline_state=get_pipeline_state, put_approval_result=put_approval_result,
             stop_pipeline_execution=stop_pipeline_execution, retry_stage_execution=retry_stage_execution,
             list_action_executions=list_action_executions),
)
