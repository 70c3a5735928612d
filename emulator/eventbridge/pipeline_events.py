"""CodePipeline's events on EventBridge: pipeline, stage and action execution state changes.

The engine calls these when it applies a transition, with the transition's moment; the event is
put on the pipeline account's default bus at that moment (the engine is lazy, so a transition
caught up late is pushed at once, still carrying its own ``time``). Detail fields follow the
CodePipeline user guide ("Monitoring CodePipeline events"): every event has ``pipeline``,
``execution-id``, ``start-time``, ``state``, ``version`` (the pipeline structure's, a number) and
``pipeline-execution-attempt``; a STARTED execution adds ``execution-trigger`` {``trigger-type``,
``trigger-detail``}; stage events add ``stage``; action events add ``stage``, ``action``,
``action-execution-id``, ``region``, ``type`` {``owner``, ``provider``, ``category``,
``version``}, ``input-artifacts`` and, once the action ended, ``execution-result`` (and
``output-artifacts`` when it succeeded). ``resources`` names the pipeline's ARN.
"""
from __future__ import annotations

import datetime
from typing import Any

from emulator.eventbridge import bus

SOURCE = "aws.codepipeline"
PIPELINE_CHANGE = "CodePipeline Pipeline Execution State Change"
STAGE_CHANGE = "CodePipeline Stage Execution State Change"
ACTION_CHANGE = "CodePipeline Action Execution State Change"

# The engine's statuses (as the API shows them) → the events' states.
STATES = {"InProgress": "STARTED", "Succeeded": "SUCCEEDED", "Failed": "FAILED", "Stopped": "STOPPED",
          "Stopping": "STOPPING", "Superseded": "SUPERSEDED", "Abandoned": "ABANDONED",
          "Cancelled": "CANCELED", "Resumed": "RESUMED"}


def _iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def _base(execution: Any, state: str) -> dict[str, Any]:
    return {"pipeline": execution.pipeline_name, "execution-id": execution.execution_id,
            "start-time": _iso(execution.start), "state": STATES[state], "version": float(execution.version),
            "pipeline-execution-attempt": float(1 + sum(execution.stage_attempts.values()))}


def _emit(pipeline: Any, detail_type: str, at: float, detail: dict[str, Any]) -> None:
    _, _, _, region, account_id, _ = str(pipeline._arn).split(":", 5)
    bus.emit(bus.message(SOURCE, detail_type, account_id, region, at, [str(pipeline._arn)], detail))


def execution(pipeline: Any, run_of: Any, state: str, at: float) -> None:
    """A pipeline execution reached ``state`` (the engine's status word, or "Resumed")."""
    detail = _base(run_of, state)
    if state == "InProgress":
        detail["execution-trigger"] = {"trigger-type": run_of.trigger_type, "trigger-detail": run_of.trigger_detail}
    if state == "Failed" and run_of.status_summary:
        detail["execution-result"] = {"external-execution-state": "FAILED",
                                      "external-execution-summary": run_of.status_summary}
    _emit(pipeline, PIPELINE_CHANGE, at, detail)


def stage(pipeline: Any, run_of: Any, stage_name: str, state: str, at: float) -> None:
    """A stage of an execution reached ``state``."""
    _emit(pipeline, STAGE_CHANGE, at, dict(_base(run_of, state), stage=stage_name))


def _artifacts(run_of: Any, names: list[dict[str, Any]]) -> list[dict[str, Any]]:
    bucket = (run_of.declaration.get("artifactStore") or {}).get("location", "")
    return [{"name": a["name"], "s3location": {"bucket": bucket, "key": run_of.artifact_key(str(a["name"]))}}
            for a in names]


def action(pipeline: Any, run_of: Any, action_run: Any, state: str, at: float) -> None:
    """An action run of an execution reached ``state``."""
    declaration = action_run.declaration
    type_id = declaration["actionTypeId"]
    region = declaration.get("region") or str(pipeline._arn).split(":")[3]
    detail = dict(_base(run_of, state), stage=action_run.stage_name, action=action_run.name,
                  **{"action-execution-id": action_run.action_execution_id, "region": region,
                     "type": {"owner": type_id.get("owner", "AWS"), "provider": type_id["provider"],
                              "category": type_id["category"], "version": str(type_id.get("version", "1"))},
                     "input-artifacts": _artifacts(run_of, declaration.get("inputArtifacts") or [])})
    if state in ("Succeeded", "Failed"):
        result = {k: v for k, v in {"external-execution-id": action_run.external_id,
                                    "external-execution-summary": action_run.summary,
                                    "external-execution-url": action_run.external_url}.items() if v}
        if state == "Failed":
            result["external-execution-state"] = "FAILED"
            result["error-code"] = (action_run.error_details or {}).get("code", "JobFailed")
        detail["execution-result"] = result
    if state == "Succeeded":
        detail["output-artifacts"] = _artifacts(run_of, declaration.get("outputArtifacts") or [])
    _emit(pipeline, ACTION_CHANGE, at, detail)
