"""The OpenAPI description of the dashboard's endpoints: pipelines, executions, release, retry, stop."""
from __future__ import annotations

from typing import Any

from core import pipelines
from core.models import PipelineRequestKind, PipelineRequestStatus
from portal.pipelines import presenters

STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
TIME = {"type": "string", "format": "date-time", "nullable": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": required if required is not None else list(properties),
            "properties": properties}


def schemas(id_schema: dict[str, Any]) -> dict[str, Any]:
    """Component schemas of the dashboard; no schema has a place for an approval token."""
    error = {"type": "object", "properties": {"code": STRING, "message": STRING}}
    log_tail = {"type": "object", "nullable": True, "required": ["lines", "count", "error", "read_at", "console_url"],
                "description": "A failed build's last log lines (at most 50, read once by the worker), or why they "
                               "could not be read; null for other actions.",
                "properties": {"lines": {"type": "array", "items": STRING}, "count": {"type": "integer"},
                               "error": STRING, "read_at": TIME, "read_at_clock": STRING,
                               "console_url": {"type": "string", "description": "Empty against the emulator."}}}
    action = _object({"name": STRING, "status": STRING, "started_at": TIME, "updated_at": TIME, "ended_at": TIME,
                      "duration": STRING, "summary": STRING, "external_id": STRING, "external_url": STRING,
                      "error": error, "execution_id": STRING, "log_tail": log_tail})
    stage = _object({"name": {"type": "string", "enum": list(pipelines.STAGES)}, "status": STRING,
                     "execution_id": STRING, "retry_attempt": {"type": "integer"},
                     "waiting_execution_ids": {"type": "array", "items": STRING},
                     "actions": {"type": "array", "items": _ref("PipelineAction")}})
    revision = _object({"action": STRING, "commit_id": STRING, "message": STRING})
    execution = _object({"id": STRING, "status": STRING, "status_summary": STRING, "trigger": STRING,
                         "started_at": TIME, "updated_at": TIME, "duration": STRING, "stop_reason": STRING,
                         "revisions": {"type": "array", "items": _ref("PipelineRevision")},
                         "console_url": {"type": "string", "description": "Empty against the emulator."}})
    latest = {"type": "object", "nullable": True, "required": ["id", "status", "commit_id", "commit_message"],
              "properties": {"id": STRING, "status": STRING, "started_at": TIME, "commit_id": STRING,
                             "commit_message": STRING}}
    summary = {
        "setup_id": id_schema, "application": STRING, "pipeline_name": STRING, "account_id": STRING,
        "region": STRING,
        "state": {"type": "string", "enum": list(presenters.STATES),
                  "description": "The newest execution's status as last read; unknown before any read."},
        "waiting_for": {"type": "string", "description": "e.g. Approval pending for 2 h 10 min, expires in 6 d 21 h."},
        "read_at": TIME,
        "age_seconds": {"type": "integer", "nullable": True, "description": "Seconds since the state was read."},
        "read_error": {"type": "string", "description": "Why the last read failed; the state shown is older."},
        "latest_execution": latest,
    }
    approval = {"type": "object", "nullable": True, "additionalProperties": False,
                "properties": {"stage": STRING, "action": STRING, "execution_id": NULLABLE_STRING, "since": TIME,
                               "expires": TIME}}
    request = _object({
        "id": id_schema, "setup_id": id_schema,
        "kind": {"type": "string", "enum": [kind.value for kind in PipelineRequestKind]},
        "status": {"type": "string", "enum": [status.value for status in PipelineRequestStatus]},
        "requested_by": STRING, "stage": STRING, "execution_id": STRING, "reason": STRING,
        "message": {"type": "string", "description": "AWS's answer, or why the request was refused."},
        "created_at": TIME, "finished_at": TIME,
    })
    return {
        "PipelineAction": action, "PipelineStage": stage, "PipelineRevision": revision,
        "PipelineExecution": execution,
        "PipelineSummary": _object(summary),
        "PipelineList": _object({"pipelines": {"type": "array", "items": _ref("PipelineSummary")}}),
        "Pipeline": _object({**summary, "version": {"type": "integer"}, "freshness": STRING,
                             "stages": {"type": "array", "items": _ref("PipelineStage")},
                             "executions": {"type": "array", "items": _ref("PipelineExecution")},
                             "approval": approval,
                             "console_urls": {"type": "object", "additionalProperties": STRING}}),
        "PipelineExecutionPage": _object({"executions": {"type": "array", "items": _ref("PipelineExecution")},
                                          "page": {"type": "integer"}, "pages": {"type": "integer"},
                                          "total": {"type": "integer"}}),
        "PipelineRequest": request,
        "StopRequest": {"type": "object", "additionalProperties": False, "required": ["reason"],
                        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200,
                                                  "pattern": r"\S"}}},
    }


def paths(setup_id: list[dict[str, Any]], page: dict[str, Any], json: Any, errors: Any) -> dict[str, Any]:
    state = {"name": "state", "in": "query", "required": False,
             "schema": {"type": "string", "enum": list(presenters.STATES)}}
    sort = {"name": "sort", "in": "query", "required": False,
            "schema": {"type": "string", "enum": list(presenters.SORTS), "default": "name"}}
    stage = {"name": "stage", "in": "path", "required": True, "schema": {"type": "string",
                                                                         "enum": list(pipelines.STAGES)}}
    accepted = json(_ref("PipelineRequest"), "The request, pending: the worker sends it to AWS.")
    stop_body = {"required": True, "content": {"application/json": {"schema": _ref("StopRequest")}}}
    return {
        "/api/v1/pipelines": {
            "get": {"operationId": "listPipelines", "parameters": [state, sort],
                    "responses": {"200": json(_ref("PipelineList"), "Every applied setup's pipeline."),
                                  **errors("400", "401")}},
        },
        "/api/v1/pipelines/{setup_id}": {
            "get": {"operationId": "getPipeline", "parameters": setup_id,
                    "responses": {"200": json(_ref("Pipeline"), "Stages, actions and the newest executions, as "
                                                                "last read."),
                                  **errors("401", "404")}},
        },
        "/api/v1/pipelines/{setup_id}/executions": {
            "get": {"operationId": "listPipelineExecutions", "parameters": [*setup_id, page],
                    "responses": {"200": json(_ref("PipelineExecutionPage"), "Executions, newest first."),
                                  **errors("400", "401", "404")}},
        },
        "/api/v1/pipelines/{setup_id}/releases": {
            "post": {"operationId": "startRelease", "parameters": setup_id,
                     "description": "Start an execution with the branch's latest commit (StartPipelineExecution).",
                     "responses": {"202": accepted, **errors("401", "403", "404", "409", "503")}},
        },
        "/api/v1/pipelines/{setup_id}/stages/{stage}/retry": {
            "post": {"operationId": "retryStage", "parameters": [*setup_id, stage],
                     "description": "Retry the stage's failed actions in the execution last seen there; AWS "
                                    "refuses a stage that did not fail (the request's message says so).",
                     "responses": {"202": accepted, **errors("400", "401", "403", "404", "409", "503")}},
        },
        "/api/v1/pipelines/{setup_id}/stop": {
            "post": {"operationId": "stopExecution", "parameters": setup_id, "requestBody": stop_body,
                     "description": "Stop the execution in progress, with a reason (StopPipelineExecution).",
                     "responses": {"202": accepted, **errors("400", "401", "403", "404", "409", "422", "503")}},
        },
    }
