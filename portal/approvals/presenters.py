"""The approval as its page and the API show it: every value from the stored snapshot and review, with its age."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from core import approvals
from core.models import ApprovalDecision, ApprovalReview, ApprovalVote, PipelineSnapshot, Setup
from core.times import as_utc, iso
from portal.pipelines import presenters as pipeline_presenters
from portal.pipelines.presenters import parse_time, span

CHANGE_ACTIONS = ("Add", "Modify", "Remove", "Import", "Dynamic")


def change_set_console_url(setup: Setup) -> str:
    """Where a person with access to the production account reviews the change set."""
    region, stack = setup.region or "", approvals.production_stack_name(setup.name or "")
    return (f"https://{region}.console.aws.amazon.com/cloudformation/home?region={region}"
            f"#/stacks?filteringText={quote(stack)}")


def change_json(change: dict[str, Any]) -> dict[str, Any]:
    replacement = change.get("replacement") or ""
    return {"action": change.get("action") or "", "logical_id": change.get("logical_id") or "",
            "physical_id": change.get("physical_id") or "", "type": change.get("type") or "",
            "replacement": replacement,
            # CloudFormation's Replacement: True replaces, Conditional may (it depends on a value known at
            # execution): both are flagged, as the console flags them.
            "replaces": change.get("action") == "Modify" and replacement in ("True", "Conditional")}


def review_json(setup: Setup, review: ApprovalReview | None) -> dict[str, Any] | None:
    if review is None:
        return None
    change_set = review.change_set or {}
    changes = [change_json(c) for c in change_set.get("changes", [])]
    counts = {action: sum(1 for c in changes if c["action"] == action) for action in ("Add", "Modify", "Remove")}
    counts["Replace"] = sum(1 for c in changes if c["replaces"])
    staging = review.staging or {}
    return {
        "status": review.status, "read": review.read_at is not None, "read_at": iso(review.read_at),
        "complete": review.complete,
        "change_set": {
            "name": review.change_set_name or approvals.production_change_set_name(setup.name or "",
                                                                                  review.execution_id),
            "account_id": setup.production_account_id or "", "stack_name": approvals.production_stack_name(
                setup.name or ""),
            "found": bool(change_set), "status": change_set.get("status") or "",
            "status_reason": change_set.get("status_reason") or "",
            "execution_status": change_set.get("execution_status") or "",
            "changes": changes, "counts": counts, "problem": review.change_set_problem,
            "console_url": change_set_console_url(setup),
        },
        "staging": {"stack_name": staging.get("stack_name") or approvals.staging_stack_name(setup.name or ""),
                    "account_id": setup.staging_account_id or "", "status": staging.get("status") or "",
                    "status_reason": staging.get("status_reason") or "",
                    "outputs": list(staging.get("outputs") or []), "problem": review.staging_problem},
        "custom_data": review.custom_data, "timeout_minutes": review.timeout_minutes,
    }


def decision_json(decision: ApprovalDecision) -> dict[str, Any]:
    return {"id": decision.id, "execution_id": decision.execution_id, "decision": decision.decision,
            "decided_by": decision.decided_by, "first_approver": decision.first_approver,
            "comment": decision.comment, "commit_id": decision.commit_id, "status": decision.status,
            "message": decision.message, "created_at": iso(decision.created_at),
            "finished_at": iso(decision.finished_at)}


def vote_json(vote: ApprovalVote) -> dict[str, Any]:
    return {"username": vote.username, "comment": vote.comment, "created_at": iso(vote.created_at)}


def waiting_json(approval: dict[str, Any], review: ApprovalReview | None, snapshot: PipelineSnapshot,
                 now: datetime) -> dict[str, Any]:
    from portal.approvals.service import commit_of  # the service owns what a snapshot's approval means

    since = parse_time(approval.get("since"))
    expires = approvals.expires_at(since, review.timeout_minutes if review else None)
    left = (expires - now).total_seconds() if expires else None
    execution = next((e for e in snapshot.executions if e.get("id") == approval["execution_id"]), {})
    commit = commit_of(snapshot, approval["execution_id"])
    return {"execution_id": approval["execution_id"], "since": iso(since), "expires": iso(expires),
            "waited": span((now - since).total_seconds()) if since else "",
            "expires_in": span(left) if left is not None and left > 0 else "",
            "expired": left is not None and left <= 0,
            "commit_id": commit["commit_id"], "commit_message": commit["message"],
            "started_at": execution.get("started_at"), "trigger": execution.get("trigger") or ""}


def page_json(setup: Setup, snapshot: PipelineSnapshot | None, approval: dict[str, Any] | None,
              review: ApprovalReview | None, decision: ApprovalDecision | None, votes: list[ApprovalVote],
              history: list[ApprovalDecision], now: datetime, can_decide: bool, username: str) -> dict[str, Any]:
    """The whole approval: what waits, what production will change, who decided and AWS's answer."""
    newest = snapshot.executions[0] if snapshot is not None and snapshot.read_at and snapshot.executions else None
    deciding = decision is None or decision.status == "failed"
    approved_already = any(v.username == username for v in votes)
    return {
        "setup_id": setup.id, "application": setup.name or "",
        "pipeline_name": snapshot.pipeline_name if snapshot else "",
        "build_account_id": setup.build_account_id or "", "region": setup.region or "",
        "freshness": pipeline_presenters.freshness(snapshot, now),
        "read_at": iso(as_utc(snapshot.read_at)) if snapshot is not None else None,
        "two_person_approval": setup.two_person_approval,
        "waiting": None if approval is None or snapshot is None else waiting_json(approval, review, snapshot, now),
        "review": review_json(setup, review) if approval is not None else None,
        "decision": decision_json(decision) if decision is not None else None,
        "outcome": _outcome(decision, history, approval, newest),
        "votes": [vote_json(v) for v in votes],
        "can_decide": bool(can_decide and approval is not None and deciding and not approved_already),
        "approved_already": approved_already,
        "latest_execution": None if newest is None else {
            "id": newest["id"], "status": newest.get("status") or "unknown",
            "status_summary": newest.get("status_summary") or ""},
        "stages": [{"name": s["name"], "status": s.get("status") or "not run yet",
                    "execution_id": s.get("execution_id") or ""} for s in (snapshot.stages if snapshot else [])],
        "decisions": [decision_json(d) for d in history],
        "comment_max": approvals.COMMENT_MAX,
    }


def _outcome(decision: ApprovalDecision | None, history: list[ApprovalDecision], approval: dict[str, Any] | None,
             newest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The decision to show on top: the waiting approval's, else the newest execution's once it moved on."""
    if decision is not None:
        return {**decision_json(decision), "execution_status": ""}
    if approval is not None or newest is None:
        return None
    latest = next((d for d in history if d.execution_id == newest["id"]), None)
    return None if latest is None else {**decision_json(latest), "execution_status": newest.get("status") or ""}


def version(snapshot: PipelineSnapshot | None, review: ApprovalReview | None,
            decision: ApprovalDecision | None) -> str:
    """Changes whenever what the page shows changes: the open page reloads itself then."""
    parts = [str(snapshot.version) if snapshot else "-", iso(review.read_at) or "-" if review else "-",
             f"{decision.id}:{decision.status}" if decision else "-"]
    return "/".join(parts)
