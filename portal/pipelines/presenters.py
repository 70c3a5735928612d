"""Snapshots as pages and JSON show them: every value a claim with its age, never a guess.

A pipeline with no snapshot, or one never read, is "unknown"; a stage AWS reports no execution
for is "not run yet", which is what AWS said, not a status made up from silence. The approval
token is in a column of its own that nothing here reads.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import quote

from core import pipelines
from core.models import PipelineRequest, PipelineSnapshot, Setup
from core.times import as_utc, iso
from core.times import from_iso as parse_time

UNKNOWN = "unknown"
STATES = ("InProgress", "Stopping", "Failed", "Stopped", "Succeeded", "Superseded", "Cancelled", UNKNOWN)
SORTS = ("name", "state", "updated")
EXECUTIONS_PAGE = 20


def span(seconds: float) -> str:
    """2 h 10 min, 6 d 21 h, 45 s: the two largest units."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs and minutes < 10 else f"{minutes} min"
    return f"{secs} s"


def age_seconds(snapshot: PipelineSnapshot | None, now: datetime) -> int | None:
    read_at = as_utc(snapshot.read_at) if snapshot is not None else None
    return None if read_at is None else max(0, int((now - read_at).total_seconds()))


def freshness(snapshot: PipelineSnapshot | None, now: datetime) -> str:
    age = age_seconds(snapshot, now)
    if age is None:
        return "State unknown: the pipeline has not been read yet."
    return f"State as of {span(age)} ago."


def overall_state(snapshot: PipelineSnapshot | None) -> str:
    """The newest execution's status as AWS reported it, else unknown."""
    if snapshot is None or snapshot.read_at is None or not snapshot.executions:
        return UNKNOWN
    return str(snapshot.executions[0]["status"] or UNKNOWN)


def waiting_for(snapshot: PipelineSnapshot | None, now: datetime) -> str:
    """What waits for whom: the approval, a failed stage, or an execution in progress."""
    if snapshot is None or snapshot.read_at is None:
        return ""
    approval = snapshot.approval or {}
    since, expires = parse_time(approval.get("since")), parse_time(approval.get("expires"))
    if since is not None:
        text = f"Approval pending for {span((now - since).total_seconds())}"
        if expires is not None:
            left = (expires - now).total_seconds()
            text += f", expires in {span(left)}" if left > 0 else ", expired"
        return text + ": an approver decides."
    newest = snapshot.executions[0] if snapshot.executions else None
    if newest is None:
        return ""
    failed = next((s for s in snapshot.stages if s.get("execution_id") == newest["id"] and s.get("status") == "Failed"),
                  None)
    if failed is not None:
        return f"Stage {failed['name']} failed: an operator may retry it."
    if newest["status"] in pipelines.ACTIVE_EXECUTION_STATUSES:
        running = next((s for s in snapshot.stages if s.get("execution_id") == newest["id"]
                        and s.get("status") == "InProgress"), None)
        return f"Running {running['name']}." if running else "Running."
    return ""


def console_links(snapshot: PipelineSnapshot, emulator: bool) -> dict[str, str]:
    """Console pages of the pipeline and its stacks; none against the emulator, where they lead nowhere."""
    if emulator:
        return {}
    region, name = snapshot.region, snapshot.pipeline_name
    base = f"https://{region}.console.aws.amazon.com"
    app = name.removesuffix("-pipeline")
    stacks = {f"stack:{stack}": f"{base}/cloudformation/home?region={region}#/stacks?filteringText={quote(stack)}"
              for stack in (f"{app}-staging", f"{app}-production")}
    return {"pipeline": f"{base}/codesuite/codepipeline/pipelines/{quote(name)}/view?region={region}", **stacks}


def execution_url(snapshot: PipelineSnapshot, execution_id: str, emulator: bool) -> str:
    if emulator or not execution_id:
        return ""
    return (f"https://{snapshot.region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/"
            f"{quote(snapshot.pipeline_name)}/executions/{quote(execution_id)}/timeline?region={snapshot.region}")


def duration(started: str | None, ended: str | None, running: bool, now: datetime) -> str:
    start = parse_time(started)
    if start is None:
        return ""
    end = now if running else parse_time(ended)
    return span((end - start).total_seconds()) if end is not None else ""


def action_json(action: dict[str, Any], now: datetime, emulator: bool) -> dict[str, Any]:
    running = action.get("status") == "InProgress"
    return {
        "name": action["name"], "status": action.get("status") or "not run yet",
        "started_at": action.get("started_at"), "updated_at": action.get("updated_at"),
        "ended_at": None if running else action.get("updated_at"),
        "duration": duration(action.get("started_at"), action.get("updated_at"), running, now),
        "summary": action.get("summary") or "", "external_id": action.get("external_id") or "",
        "external_url": "" if emulator else action.get("external_url") or "",
        "error": dict(action.get("error") or {}), "execution_id": action.get("execution_id") or "",
        "log_tail": log_tail_json(action.get("log_tail"), emulator),
    }


def log_tail_json(tail: dict[str, Any] | None, emulator: bool) -> dict[str, Any] | None:
    """The last lines of a failed build's log as the worker read them once, or why it could not; None if unread."""
    if not tail:
        return None
    lines = [str(line) for line in tail.get("lines") or []]
    read_at = tail.get("read_at")
    return {"lines": lines, "count": len(lines), "error": tail.get("error") or "",
            "read_at": read_at, "read_at_clock": (read_at or "")[11:19],
            "console_url": "" if emulator else tail.get("deep_link") or ""}


def stage_json(stage: dict[str, Any], now: datetime, emulator: bool) -> dict[str, Any]:
    return {"name": stage["name"], "status": stage.get("status") or "not run yet",
            "execution_id": stage.get("execution_id") or "", "retry_attempt": stage.get("retry_attempt") or 0,
            "waiting_execution_ids": list(stage.get("waiting_execution_ids") or []),
            "actions": [action_json(a, now, emulator) for a in stage.get("actions", [])]}


def execution_json(snapshot: PipelineSnapshot, execution: dict[str, Any], now: datetime,
                   emulator: bool) -> dict[str, Any]:
    running = execution.get("status") in pipelines.ACTIVE_EXECUTION_STATUSES
    return {
        "id": execution["id"], "status": execution.get("status") or UNKNOWN,
        "status_summary": execution.get("status_summary") or "", "trigger": execution.get("trigger") or "",
        "started_at": execution.get("started_at"), "updated_at": execution.get("updated_at"),
        "duration": duration(execution.get("started_at"), execution.get("updated_at"), running, now),
        "stop_reason": execution.get("stop_reason") or "",
        "revisions": [{"action": r.get("action", ""), "commit_id": r.get("commit_id", ""),
                       "message": r.get("message", "")} for r in execution.get("revisions", [])],
        "console_url": execution_url(snapshot, execution["id"], emulator),
    }


def approval_json(snapshot: PipelineSnapshot) -> dict[str, Any] | None:
    approval = snapshot.approval or {}
    if not approval:
        return None
    # Named fields only: whatever else the worker stores stays server-side.
    return {key: approval.get(key) for key in ("stage", "action", "execution_id", "since", "expires")}


def summary_json(setup: Setup, snapshot: PipelineSnapshot | None, now: datetime) -> dict[str, Any]:
    newest = snapshot.executions[0] if snapshot is not None and snapshot.read_at and snapshot.executions else None
    commit = (newest or {}).get("revisions", [{}])[0] if newest and newest.get("revisions") else {}
    return {
        "setup_id": setup.id, "application": setup.name or "",
        "pipeline_name": snapshot.pipeline_name if snapshot else pipelines.pipeline_name(setup.name or ""),
        "account_id": setup.build_account_id or "", "region": setup.region or "",
        "state": overall_state(snapshot), "waiting_for": waiting_for(snapshot, now),
        "read_at": iso(snapshot.read_at) if snapshot else None, "age_seconds": age_seconds(snapshot, now),
        "read_error": snapshot.read_error if snapshot else "",
        "latest_execution": None if newest is None else {
            "id": newest["id"], "status": newest.get("status") or UNKNOWN, "started_at": newest.get("started_at"),
            "commit_id": commit.get("commit_id", ""), "commit_message": commit.get("message", "")},
    }


def pipeline_json(setup: Setup, snapshot: PipelineSnapshot | None, now: datetime, emulator: bool) -> dict[str, Any]:
    """The whole pipeline as the API and the live page read it (the newest executions only)."""
    body = summary_json(setup, snapshot, now)
    read = snapshot is not None and snapshot.read_at is not None
    body.update({
        "version": snapshot.version if snapshot else 0,
        "freshness": freshness(snapshot, now),
        "stages": [stage_json(s, now, emulator) for s in snapshot.stages] if read else [],
        "executions": [execution_json(snapshot, e, now, emulator) for e in snapshot.executions[:5]] if read else [],
        "approval": approval_json(snapshot) if read else None,
        "console_urls": console_links(snapshot, emulator) if snapshot else {},
    })
    return body


def executions_page(snapshot: PipelineSnapshot | None, page: int, now: datetime,
                    emulator: bool) -> dict[str, Any]:
    stored = snapshot.executions if snapshot is not None and snapshot.read_at else []
    pages = max(1, math.ceil(len(stored) / EXECUTIONS_PAGE))
    chosen = stored[(page - 1) * EXECUTIONS_PAGE: page * EXECUTIONS_PAGE]
    return {"executions": [execution_json(snapshot, e, now, emulator) for e in chosen],  # type: ignore[arg-type]
            "page": page, "pages": pages, "total": len(stored)}


def request_json(request: PipelineRequest) -> dict[str, Any]:
    return {"id": request.id, "setup_id": request.setup_id, "kind": request.kind, "status": request.status,
            "requested_by": request.requested_by, "stage": request.stage, "execution_id": request.execution_id,
            "reason": request.reason, "message": request.message, "created_at": iso(request.created_at),
            "finished_at": iso(request.finished_at)}


def sort_rows(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    if sort == "state":
        return sorted(rows, key=lambda r: (STATES.index(r["state"]) if r["state"] in STATES else len(STATES),
                                           r["application"]))
    if sort == "updated":
        return sorted(rows, key=lambda r: (r["latest_execution"] or {}).get("started_at") or "", reverse=True)
    return sorted(rows, key=lambda r: r["application"])
