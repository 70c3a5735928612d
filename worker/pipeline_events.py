"""A CodePipeline event applied to the stored snapshot at once; the full read follows, coalesced.

The event says which execution, stage or action reached which state and when, so the snapshot
(worker/pipeline_state.py's shape) shows the change within the consumer's batch instead of at
the next read. What an event cannot say (source revisions, action start times of a new
execution, the approval's token) comes from the next read, which an event makes due at once
unless the pipeline was read within ``EVENT_READ_SECONDS`` (then that long after the last read),
so a running pipeline is read about once a minute however many events it sends.

A manual approval that starts is shown waiting from its event alone (execution, since, expiry,
the action's link as last read), so the approval page and its buttons need no read. Its token
is not needed there: a decision reads the token it sends at that moment (worker/approvals.py),
and the snapshot's copy comes with the next read, or at once when someone opens the pipeline's
page (the portal makes a read due then). Reading at once for it cost a read per execution (26.9
reads per pipeline-minute on 3-second executions).

An event older than what the snapshot holds for the same execution, stage or action (a
reordered or duplicated delivery) changes nothing, so states never move backwards.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import pipelines
from core.models import PipelineSnapshot
from core.times import as_utc, iso
from worker.event_intake import PipelineChange

EVENT_READ_SECONDS = 60.0
# The events' states -> the API's statuses, as the snapshot stores them.
STATUSES = {"STARTED": "InProgress", "SUCCEEDED": "Succeeded", "FAILED": "Failed", "STOPPED": "Stopped",
            "STOPPING": "Stopping", "SUPERSEDED": "Superseded", "ABANDONED": "Abandoned",
            "CANCELED": "Cancelled", "RESUMED": "InProgress"}


def _newer(at: datetime, stored: str | None) -> bool:
    """Whether an event at ``at`` is no older than a stored time (events' times are whole seconds)."""
    if not stored:
        return True
    return at + timedelta(seconds=1) > as_utc(datetime.fromisoformat(stored.replace("Z", "+00:00")))


def _backwards(stored: str | None, status: str) -> bool:
    """A run that ended does not start again: a late STARTED of it is old news."""
    return status == "InProgress" and stored not in (None, "InProgress")


def apply(row: PipelineSnapshot, change: PipelineChange, now: datetime) -> bool:
    """Apply ``change`` to ``row``; return True when what the snapshot shows changed."""
    status = STATUSES.get(change.state)
    if status is None or change.pipeline != row.pipeline_name:
        return False
    handler = {"pipeline": _execution, "stage": _stage, "action": _action}[change.level]
    changed = handler(row, change, status)
    if changed:
        row.version += 1
        row.active = any(e.get("status") in pipelines.ACTIVE_EXECUTION_STATUSES for e in row.executions or [])
    due = now if row.read_at is None else \
        max(now, as_utc(row.read_at) + timedelta(seconds=EVENT_READ_SECONDS))
    if row.next_read_at is None or as_utc(row.next_read_at) > due:
        row.next_read_at = due
    return changed


def _execution(row: PipelineSnapshot, change: PipelineChange, status: str) -> bool:
    executions = [dict(e) for e in row.executions or []]
    found = next((e for e in executions if e["id"] == change.execution_id), None)
    at = iso(change.at)
    if found is None:
        trigger = change.detail.get("execution-trigger") or {}
        found = {"id": change.execution_id, "status": status, "status_summary": "",
                 "trigger": trigger.get("trigger-type", ""), "trigger_detail": trigger.get("trigger-detail", ""),
                 "started_at": change.detail.get("start-time") or at, "updated_at": at, "stop_reason": "",
                 "revisions": []}
        executions.insert(0, found)
    elif not _newer(change.at, found.get("updated_at")) or found.get("status") == status \
            or _backwards(found.get("status"), status):
        return False
    else:
        found.update(status=status, updated_at=at)
    summary = (change.detail.get("execution-result") or {}).get("external-execution-summary")
    if summary:
        found["status_summary"] = summary
    row.executions = executions
    return True


def _stage_of(stages: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((s for s in stages if s.get("name") == name), None)


def _stage(row: PipelineSnapshot, change: PipelineChange, status: str) -> bool:
    stages = [dict(s) for s in row.stages or []]
    stage = _stage_of(stages, str(change.detail.get("stage", "")))
    if stage is None or (stage.get("status"), stage.get("execution_id")) == (status, change.execution_id):
        return False
    if stage.get("execution_id") == change.execution_id and _backwards(stage.get("status"), status) \
            and change.state != "RESUMED":
        return False
    stage.update(status=status, execution_id=change.execution_id)
    row.stages = stages
    return True


def _action(row: PipelineSnapshot, change: PipelineChange, status: str) -> bool:
    stages = [dict(s) for s in row.stages or []]
    stage = _stage_of(stages, str(change.detail.get("stage", "")))
    if stage is None:
        return False
    actions = [dict(a) for a in stage.get("actions", [])]
    action = next((a for a in actions if a.get("name") == change.detail.get("action")), None)
    run_id = str(change.detail.get("action-execution-id") or "")
    if action is None:
        return False
    same_run = action.get("action_execution_id") == run_id
    if not _newer(change.at, action.get("updated_at")):
        return False
    if same_run and (action.get("status") == status or _backwards(action.get("status"), status)):
        return False
    result = change.detail.get("execution-result") or {}
    action.update(status=status, action_execution_id=run_id, updated_at=iso(change.at))
    if not same_run:
        action.update(started_at=iso(change.at), summary="", external_id="", external_url="", error={},
                      percent=None)
        action.pop("log_tail", None)
    for key, field in (("summary", "external-execution-summary"), ("external_id", "external-execution-id"),
                       ("external_url", "external-execution-url")):
        if result.get(field):
            action[key] = result[field]
    if status == "Failed":
        action["error"] = {"code": result.get("error-code", ""), "message": result.get("external-execution-summary", "")}
    stage["actions"] = actions
    row.stages = stages
    if (stage.get("name"), action.get("name")) == pipelines.APPROVAL_ACTION:
        row.approval, row.approval_token = _approval(change, action) if status == "InProgress" else {}, ""
    return True


def _approval(change: PipelineChange, action: dict[str, Any]) -> dict[str, Any]:
    """The waiting approval as a read shows it (worker/pipeline_state.py waiting_approval), token aside."""
    stage, name = pipelines.APPROVAL_ACTION
    return {"stage": stage, "action": name, "execution_id": change.execution_id, "since": iso(change.at),
            "expires": iso(change.at + pipelines.APPROVAL_TIMEOUT),
            "external_link": action.get("entity_url") or ""}
