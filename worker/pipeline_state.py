"""Read one pipeline's state from CodePipeline, reduced to what the dashboard stores.

One read is ``GetPipelineState`` (every stage's latest execution and each action's latest run) and
``ListPipelineExecutions`` (one page of history, with each execution's trigger and source
revisions); ``ListActionExecutions`` is called only when the newest execution changed since the
last read, for its actions' start times (GetPipelineState tells only when each last changed). So
a read costs two or three calls whatever the number of viewers. Like the backstage CodePipeline
plugin, nothing else is needed.

The result is plain JSON-ready data; the approval token travels beside it, never inside it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from core import pipelines
from core.times import iso

logger = logging.getLogger(__name__)

# One page of history per read; older executions already stored are kept (up to HISTORY_KEPT).
HISTORY_PAGE = 50
HISTORY_KEPT = 200
# ListActionExecutions pages hold up to 100 details; an execution of the contract's pipeline has six
# actions, so a few pages are plenty (retries add runs).
ACTION_PAGES = 3


@dataclass
class PipelineRead:
    """What one read found: stages, newest-first executions, the waiting approval and its token."""

    stages: list[dict[str, Any]]
    executions: list[dict[str, Any]]
    approval: dict[str, Any] = field(default_factory=dict)
    approval_token: str = ""

    @property
    def active(self) -> bool:
        return any(e["status"] in pipelines.ACTIVE_EXECUTION_STATUSES for e in self.executions)


def read_pipeline(client: Any, name: str, previous_stages: list[dict[str, Any]],
                  previous_executions: list[dict[str, Any]]) -> PipelineRead:
    """Read ``name`` through ``client`` (a codepipeline client in the build account)."""
    state = client.get_pipeline_state(name=name)
    summaries = client.list_pipeline_executions(pipelineName=name, maxResults=HISTORY_PAGE)
    executions = merge_executions([execution_json(s) for s in summaries.get("pipelineExecutionSummaries", [])],
                                  previous_executions)
    known_starts = _known_starts(previous_stages)
    newest = executions[0] if executions else None
    if newest is not None and _changed(newest, previous_executions):
        known_starts.update(_action_starts(client, name, newest["id"]))
    stages = [stage_json(s, known_starts) for s in state.get("stageStates", [])]
    approval, token = waiting_approval(state)
    return PipelineRead(stages, executions, approval, token)


def _changed(newest: dict[str, Any], previous: list[dict[str, Any]]) -> bool:
    before = next((e for e in previous if e["id"] == newest["id"]), None)
    return before is None or before.get("updated_at") != newest.get("updated_at") or \
        newest["status"] in pipelines.ACTIVE_EXECUTION_STATUSES


def _action_starts(client: Any, name: str, execution_id: str) -> dict[str, str | None]:
    """actionExecutionId -> start time of the actions of ``execution_id``."""
    starts: dict[str, str | None] = {}
    kwargs: dict[str, Any] = {"pipelineName": name, "filter": {"pipelineExecutionId": execution_id}}
    for _ in range(ACTION_PAGES):
        page = client.list_action_executions(**kwargs)
        for detail in page.get("actionExecutionDetails", []):
            starts[detail["actionExecutionId"]] = iso(detail.get("startTime"))
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return starts


def _known_starts(stages: list[dict[str, Any]]) -> dict[str, str | None]:
    return {a["action_execution_id"]: a.get("started_at") for s in stages for a in s.get("actions", [])
            if a.get("action_execution_id")}


def stage_json(stage: Mapping[str, Any], starts: Mapping[str, str | None]) -> dict[str, Any]:
    latest = stage.get("latestExecution") or {}
    inbound = stage.get("inboundExecutions") or ([stage["inboundExecution"]] if stage.get("inboundExecution") else [])
    return {
        "name": stage["stageName"],
        "status": latest.get("status"),  # None: AWS reports no execution in this stage yet
        "execution_id": latest.get("pipelineExecutionId"),
        "waiting_execution_ids": [e["pipelineExecutionId"] for e in inbound],
        "retry_attempt": (stage.get("retryStageMetadata") or {}).get("manualStageRetryAttempt", 0),
        "actions": [action_json(a, starts) for a in stage.get("actionStates", [])],
    }


def action_json(action: Mapping[str, Any], starts: Mapping[str, str | None]) -> dict[str, Any]:
    latest = action.get("latestExecution") or {}
    error = latest.get("errorDetails") or {}
    run_id = latest.get("actionExecutionId")
    revision = action.get("currentRevision") or {}
    return {
        "name": action["actionName"],
        "status": latest.get("status"),
        "action_execution_id": run_id,
        "started_at": starts.get(run_id) if run_id else None,
        "updated_at": iso(latest.get("lastStatusChange")),
        "summary": latest.get("summary") or "",
        "external_id": latest.get("externalExecutionId") or "",
        "external_url": latest.get("externalExecutionUrl") or "",
        "entity_url": action.get("entityUrl") or "",
        "revision_id": revision.get("revisionId") or "",
        "percent": latest.get("percentComplete"),
        "error": {"code": error.get("code", ""), "message": error.get("message", "")} if error else {},
    }


def waiting_approval(state: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The manual approval in progress (without its token), and the token."""
    stage_name, action_name = pipelines.APPROVAL_ACTION
    for stage in state.get("stageStates", []):
        if stage["stageName"] != stage_name:
            continue
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution") or {}
            if action["actionName"] == action_name and latest.get("status") == "InProgress":
                since = latest.get("lastStatusChange")
                expires = since + pipelines.APPROVAL_TIMEOUT if isinstance(since, datetime) else None
                execution_id = (stage.get("latestExecution") or {}).get("pipelineExecutionId")
                return ({"stage": stage_name, "action": action_name, "execution_id": execution_id,
                         "since": iso(since), "expires": iso(expires),
                         "external_link": action.get("entityUrl") or ""}, latest.get("token") or "")
    return {}, ""


def execution_json(summary: Mapping[str, Any]) -> dict[str, Any]:
    trigger = summary.get("trigger") or {}
    return {
        "id": summary["pipelineExecutionId"],
        "status": summary.get("status") or "",
        "status_summary": summary.get("statusSummary") or "",
        "trigger": trigger.get("triggerType") or "",
        "trigger_detail": trigger.get("triggerDetail") or "",
        "started_at": iso(summary.get("startTime")),
        "updated_at": iso(summary.get("lastUpdateTime")),
        "stop_reason": (summary.get("stopTrigger") or {}).get("reason") or "",
        "revisions": [{"action": r.get("actionName", ""), "commit_id": r.get("revisionId", ""),
                       "message": r.get("revisionSummary", ""), "url": r.get("revisionUrl", "")}
                      for r in summary.get("sourceRevisions") or []],
    }


def merge_executions(fresh: list[dict[str, Any]], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fresh page, then the stored executions it no longer reaches, newest first, at most HISTORY_KEPT."""
    seen = {e["id"] for e in fresh}
    older = [e for e in stored if e["id"] not in seen]
    merged = fresh + older
    merged.sort(key=lambda e: e.get("started_at") or "", reverse=True)
    return merged[:HISTORY_KEPT]

