"""Executions rendered as CodePipeline's JSON response shapes (botocore's codepipeline model).

Optional members are left out rather than sent as null, as AWS does; timestamps are epoch
seconds, the JSON protocol's default.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from emulator.codepipeline import engine, jobs
from emulator.codepipeline.actions import entity_url
from emulator.codepipeline.models import ActionRun, Execution, SourceRevision

TRIGGER_DETAIL_MAX = 1024


def _ts(value: float) -> float:
    return round(value, 3)


def _naive_utc(value: datetime) -> float:
    # moto keeps naive UTC datetimes; .timestamp() alone would read them as local time.
    return _ts(value.replace(tzinfo=timezone.utc).timestamp())


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def pipeline_metadata(pipeline: Any) -> dict[str, Any]:
    """GetPipeline's metadata; moto sends ISO strings where AWS's JSON protocol sends epoch seconds."""
    return {"pipelineArn": pipeline._arn, "created": _naive_utc(pipeline._created),
            "updated": _naive_utc(pipeline._updated)}


def pipeline_summary(pipeline: Any) -> dict[str, Any]:
    declaration = pipeline.pipeline
    return _compact({"name": declaration["name"], "version": declaration["version"],
                     "pipelineType": declaration.get("pipelineType"),
                     "executionMode": declaration.get("executionMode"),
                     "created": _naive_utc(pipeline._created), "updated": _naive_utc(pipeline._updated)})


def pipeline_state(pipeline: Any, now: float) -> dict[str, Any]:
    declaration = pipeline.pipeline
    return {
        "pipelineName": declaration["name"],
        "pipelineVersion": declaration["version"],
        "stageStates": [_stage_state(pipeline, stage, now) for stage in declaration["stages"]],
        "created": _naive_utc(pipeline._created),
        "updated": _naive_utc(pipeline._updated),
    }


def _stage_state(pipeline: Any, stage: dict[str, Any], now: float) -> dict[str, Any]:
    name = stage["name"]
    state: dict[str, Any] = {
        "stageName": name,
        "inboundTransitionState": {"enabled": True},
        "actionStates": [_action_state(pipeline, name, action, now) for action in stage["actions"]],
    }
    latest = engine.latest_in_stage(pipeline, name)
    if latest is not None:
        state["latestExecution"] = _stage_execution(latest, latest.stage_status[name])
        retries = latest.stage_attempts.get(name, 0)
        if retries:
            state["retryStageMetadata"] = {"manualStageRetryAttempt": retries,
                                           "latestRetryTrigger": "ManualStageRetry"}
    queue = engine.waiting(pipeline, name)
    if queue:
        state["inboundExecution"] = _stage_execution(queue[0], "InProgress")  # the next one to enter
        state["inboundExecutions"] = [_stage_execution(e, "InProgress") for e in queue]
    return state


def _stage_execution(execution: Execution, status: str) -> dict[str, Any]:
    return {"pipelineExecutionId": execution.execution_id, "status": status, "type": "STANDARD"}


def _latest_run(pipeline: Any, stage_name: str, action_name: str, succeeded: bool = False) -> ActionRun | None:
    runs = [r for e in engine.executions(pipeline) for r in e.runs
            if r.stage_name == stage_name and r.name == action_name
            and (not succeeded or r.status == "Succeeded")]
    return max(runs, key=lambda r: r.seq, default=None)


def _action_state(pipeline: Any, stage_name: str, action: dict[str, Any], now: float) -> dict[str, Any]:
    state: dict[str, Any] = {"actionName": action["name"]}
    run = _latest_run(pipeline, stage_name, action["name"])
    if run is not None:
        state["latestExecution"] = _action_execution(run, now)
    if action["actionTypeId"]["category"] == "Source":
        # The revision shown is the one the last successful run fetched.
        fetched = _latest_run(pipeline, stage_name, action["name"], succeeded=True)
        revision = pipeline.executions[fetched.execution_id].revisions.get(fetched.name) if fetched else None
        if revision is not None and revision.revision_id and revision.created is not None:
            state["currentRevision"] = {"revisionId": revision.revision_id,
                                        "revisionChangeId": revision.revision_id,
                                        "created": _ts(revision.created)}
            state["revisionUrl"] = revision.url
    state["entityUrl"] = entity_url(action, engine.region_of(pipeline))
    return _compact(state)


def _action_execution(run: ActionRun, now: float) -> dict[str, Any]:
    in_progress = run.status == "InProgress"
    percent = None
    if in_progress and run.due is not None:
        span = run.due - run.start
        percent = min(99, int(100 * (now - run.start) / span)) if span > 0 else 0
    return _compact({
        "actionExecutionId": run.action_execution_id,
        "status": run.status,
        "summary": run.summary,
        "lastStatusChange": _ts(run.last_update),
        "token": run.token if in_progress else None,
        "lastUpdatedBy": run.updated_by,
        "externalExecutionId": run.external_id,
        "externalExecutionUrl": run.external_url,
        "percentComplete": percent,
        "errorDetails": run.error_details,
    })


def _artifact_name(execution: Execution, action_name: str) -> str | None:
    for action in execution.stages[0]["actions"]:
        if action["name"] == action_name and action.get("outputArtifacts"):
            return str(action["outputArtifacts"][0]["name"])
    return None


def _fetched(execution: Execution) -> list[SourceRevision]:
    return [r for r in execution.revisions.values() if r.revision_id]


def execution_detail(execution: Execution) -> dict[str, Any]:
    return _compact({
        "pipelineName": execution.pipeline_name,
        "pipelineVersion": execution.version,
        "pipelineExecutionId": execution.execution_id,
        "status": execution.status,
        "statusSummary": execution.status_summary,
        "artifactRevisions": [_compact({
            "name": _artifact_name(execution, r.action_name),
            "revisionId": r.revision_id,
            "revisionChangeIdentifier": r.revision_id,
            "revisionSummary": r.summary,
            "created": _ts(r.created) if r.created is not None else None,
            "revisionUrl": r.url,
        }) for r in _fetched(execution)],
        "variables": [{"name": v["name"], "resolvedValue": v["value"]} for v in execution.variables],
        "trigger": _trigger(execution),
        "executionMode": execution.mode,
        "executionType": "STANDARD",
    })


def _trigger(execution: Execution) -> dict[str, str]:
    return {"triggerType": execution.trigger_type,
            "triggerDetail": execution.trigger_detail[:TRIGGER_DETAIL_MAX]}


def execution_summary(execution: Execution) -> dict[str, Any]:
    return _compact({
        "pipelineExecutionId": execution.execution_id,
        "status": execution.status,
        "statusSummary": execution.status_summary,
        "startTime": _ts(execution.start),
        "lastUpdateTime": _ts(execution.last_update),
        "sourceRevisions": [_compact({"actionName": r.action_name, "revisionId": r.revision_id,
                                      "revisionSummary": r.summary, "revisionUrl": r.url})
                            for r in _fetched(execution)],
        "trigger": _trigger(execution),
        "stopTrigger": {"reason": execution.stop_reason} if execution.stop_reason else None,
        "executionMode": execution.mode,
        "executionType": "STANDARD",
    })


def action_execution_detail(pipeline: Any, execution: Execution, run: ActionRun) -> dict[str, Any]:
    declaration = run.declaration
    store = pipeline.pipeline.get("artifactStore") or {}
    bucket = store.get("location")

    def artifacts(key: str) -> list[dict[str, Any]]:
        return [_compact({"name": a["name"], "s3location": _s3_location(bucket, execution, a["name"])})
                for a in declaration.get(key) or []]

    return _compact({
        "pipelineExecutionId": execution.execution_id,
        "actionExecutionId": run.action_execution_id,
        "pipelineVersion": run.pipeline_version,
        "stageName": run.stage_name,
        "actionName": run.name,
        "startTime": _ts(run.start),
        "lastUpdateTime": _ts(run.last_update),
        "updatedBy": run.updated_by,
        "status": run.status,
        "input": _compact({
            "actionTypeId": declaration["actionTypeId"],
            "configuration": run.configuration,
            "resolvedConfiguration": resolved_configuration(run, execution),
            "roleArn": declaration.get("roleArn"),
            "region": declaration.get("region") or engine.region_of(pipeline),
            "inputArtifacts": artifacts("inputArtifacts"),
            "namespace": declaration.get("namespace"),
        }),
        "output": {
            "outputArtifacts": artifacts("outputArtifacts") if run.status == "Succeeded" else [],
            "executionResult": _compact({
                "externalExecutionId": run.external_id,
                "externalExecutionSummary": run.summary,
                "externalExecutionUrl": run.external_url,
                "errorDetails": run.error_details,
            }),
            "outputVariables": run.output_variables,
        },
    })


def _s3_location(bucket: str | None, execution: Execution, artifact: str) -> dict[str, str] | None:
    if not bucket:
        return None
    return {"bucket": bucket, "key": execution.artifact_key(artifact)}


def resolved_configuration(run: ActionRun, execution: Execution) -> dict[str, Any]:
    """The action's configuration with ``#{namespace.Name}`` replaced, as ListActionExecutions answers it.

    A reference that cannot be resolved stays as written: the action itself fails on it (jobs), and the
    listing still shows what was declared.
    """
    resolved: dict[str, Any] = {}
    for key, value in run.configuration.items():
        try:
            resolved[key] = jobs.resolve(value, execution) if isinstance(value, str) else value
        except jobs.UnresolvedVariable:
            resolved[key] = value
    return resolved
