"""JSON API of the production approval: GET the waiting approval with the production changes, POST a decision.

Reads answer the stored snapshot and review (portal/approvals/), never AWS. A decision is recorded
through the same unique row as the page's (portal/approvals/service.py), committed, then sent: 202
with the decision, whose ``message`` later holds AWS's answer; a first approval under the two-person
rule is 200 with the recorded approval.
"""
from __future__ import annotations

from flask import g

from core import approvals
from core.models import ApprovalDecision, Decision, DecisionStatus, utcnow
from portal.api import bp
from portal.api.pipelines import load_deployed
from portal.api.routes import ApiError, json_body
from portal.approvals import presenters, service
from portal.db import get_session
from portal.pipelines import service as pipelines_service
from portal.access import setup_required
from portal.security import can
from portal.setups.document_rules import NOT_A_STRING, UNKNOWN_FIELD

FIELDS = {"decision", "comment", "execution_id"}


def approval_state(setup_id: int) -> dict:
    session = get_session()
    setup = load_deployed(setup_id)
    snapshot = pipelines_service.snapshot_of(session, setup.id)
    approval = service.waiting_approval(snapshot)
    now = utcnow()
    review = service.review_of(session, setup, approval["execution_id"], now) if approval else None
    decision = service.decision_for(session, setup.id, approval) if approval else None
    service.resend_if_lost(session, decision, now)
    votes = service.votes_for(session, setup.id, approval) if approval else []
    return presenters.page_json(setup, snapshot, approval, review, decision, votes,
                                service.recent_decisions(session, setup.id), now, can("production.approve", setup.team_id),
                                g.api_user.username)


@bp.get("/pipelines/<int:setup_id>/approval")
@setup_required("setup.view")
def get_approval(setup_id: int):
    """The approval waiting (if any), the production change set, staging, and the decisions."""
    setup = load_deployed(setup_id)
    pipelines_service.record_interest(get_session(), setup, pipelines_service.snapshot_of(get_session(), setup.id))
    return approval_state(setup_id)


def read_decision() -> tuple[Decision, str, str]:
    body = json_body()
    errors = {key: [UNKNOWN_FIELD] for key in sorted(body.keys() - FIELDS)}
    raw, comment, seen = body.get("decision"), body.get("comment", ""), body.get("execution_id", "")
    if not isinstance(raw, str) or raw not in {d.value for d in Decision}:
        errors["decision"] = ["Must be approve or reject."]
    if not isinstance(comment, str):
        errors["comment"] = [NOT_A_STRING]
    elif len(comment.strip()) > approvals.COMMENT_MAX:
        errors["comment"] = [f"At most {approvals.COMMENT_MAX} characters: the summary sent to AWS holds "
                             f"{approvals.SUMMARY_MAX}."]
    elif raw == Decision.REJECT.value and not comment.strip():
        errors["comment"] = ["Say why you reject: a comment is required to reject."]
    if not isinstance(seen, str) or len(seen) > 100:
        errors["execution_id"] = ["The id of the execution you reviewed, at most 100 characters."]
    if errors:
        raise ApiError(422, errors)
    return Decision(raw), comment.strip(), seen


@bp.post("/pipelines/<int:setup_id>/approval")
@setup_required("production.approve")
def decide_approval(setup_id: int):
    """Approve or reject: ``{"decision": "approve"|"reject", "comment": "...", "execution_id"?: "..."}``."""
    setup = load_deployed(setup_id)
    decision, comment, seen = read_decision()
    snapshot = pipelines_service.snapshot_of(get_session(), setup.id)
    try:
        made = service.decide(get_session(), setup, snapshot, g.api_user.username, decision, comment, seen)
    except service.Refused as err:
        extra = {"decision": presenters.decision_json(err.existing)} if err.existing is not None else {}
        raise ApiError(409, {"approval": [str(err)]}, **extra) from err
    if not isinstance(made, ApprovalDecision):
        return {"recorded": presenters.vote_json(made), "decision": None,
                "message": "Recorded: a second, different approver sends the approval to AWS."}, 200
    if made.status == DecisionStatus.FAILED.value:
        raise ApiError(503, {"queue": [made.message]}, decision=presenters.decision_json(made))
    return {"recorded": None, "decision": presenters.decision_json(made),
            "message": "Recorded: the worker sends it to AWS."}, 202
