"""The OpenAPI description of the production approval: GET the waiting approval, POST a decision."""
from __future__ import annotations

from typing import Any

from core import approvals
from core.models import Decision, DecisionStatus, ReviewStatus

STRING = {"type": "string"}
TIME = {"type": "string", "format": "date-time", "nullable": True}
COUNT = {"type": "integer", "minimum": 0}
DECISION = {"type": "string", "enum": [decision.value for decision in Decision]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], nullable: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "required": list(properties), "properties": properties}
    if nullable:
        schema["nullable"] = True
    return schema


def schemas(id_schema: dict[str, Any]) -> dict[str, Any]:
    """Component schemas of the approval; none has a place for the approval token."""
    change = _object({"action": {"type": "string", "description": "Add, Modify, Remove, Import or Dynamic."},
                      "logical_id": STRING, "physical_id": STRING, "type": STRING,
                      "replacement": {"type": "string", "description": "True, False or Conditional (Modify only)."},
                      "replaces": {"type": "boolean", "description": "Replacement is True or Conditional."}})
    counts = _object({"Add": COUNT, "Modify": COUNT, "Remove": COUNT, "Replace": COUNT})
    change_set = _object({"name": STRING, "account_id": STRING, "stack_name": STRING, "found": {"type": "boolean"},
                          "status": STRING, "status_reason": STRING, "execution_status": STRING,
                          "changes": {"type": "array", "items": _ref("ApprovalChange")}, "counts": counts,
                          "problem": {"type": "string", "description": "Why the change set is not shown, e.g. "
                                                                       "the production account cannot be read."},
                          "console_url": STRING})
    output = _object({"key": STRING, "value": STRING, "description": STRING})
    staging = _object({"stack_name": STRING, "account_id": STRING, "status": STRING, "status_reason": STRING,
                       "outputs": {"type": "array", "items": output}, "problem": STRING})
    review = _object({"status": {"type": "string", "enum": [status.value for status in ReviewStatus]},
                      "read": {"type": "boolean"}, "read_at": TIME, "complete": {"type": "boolean"},
                      "change_set": change_set, "staging": staging, "custom_data": STRING,
                      "timeout_minutes": {"type": "integer", "nullable": True}}, nullable=True)
    waiting = _object({"execution_id": STRING, "since": TIME, "expires": TIME, "waited": STRING,
                       "expires_in": STRING, "expired": {"type": "boolean"}, "commit_id": STRING,
                       "commit_message": STRING, "started_at": TIME, "trigger": STRING}, nullable=True)
    decision = _object({
        "id": id_schema, "execution_id": STRING, "decision": DECISION, "decided_by": STRING,
        "first_approver": {"type": "string", "description": "Under the two-person rule, who approved first."},
        "comment": STRING, "commit_id": STRING,
        "status": {"type": "string", "enum": [status.value for status in DecisionStatus],
                   "description": "completed: the approval was decided elsewhere (console, timeout, "
                                  "superseded execution) and nothing was sent."},
        "message": {"type": "string", "description": "AWS's answer, or why the decision was not sent."},
        "created_at": TIME, "finished_at": TIME})
    nullable_decision = {**decision, "nullable": True}
    vote = _object({"username": STRING, "comment": STRING, "created_at": TIME})
    stage = _object({"name": STRING, "status": STRING, "execution_id": STRING})
    latest = _object({"id": STRING, "status": STRING, "status_summary": STRING}, nullable=True)
    return {
        "ApprovalChange": change,
        "ApprovalDecision": decision,
        "Approval": _object({
            "setup_id": id_schema, "application": STRING, "pipeline_name": STRING, "build_account_id": STRING,
            "region": STRING, "freshness": STRING, "read_at": TIME, "two_person_approval": {"type": "boolean"},
            "waiting": waiting, "review": review, "decision": nullable_decision,
            "votes": {"type": "array", "items": vote}, "can_decide": {"type": "boolean"},
            "approved_already": {"type": "boolean"}, "latest_execution": latest,
            "stages": {"type": "array", "items": stage},
            "decisions": {"type": "array", "items": _ref("ApprovalDecision")}, "comment_max": {"type": "integer"}}),
        "ApprovalDecisionRequest": {
            "type": "object", "additionalProperties": False, "required": ["decision"],
            "properties": {"decision": DECISION,
                           "comment": {"type": "string", "maxLength": approvals.COMMENT_MAX,
                                       "description": "Required to reject."},
                           "execution_id": {"type": "string", "maxLength": 100,
                                            "description": "The execution reviewed; refused (409) if another "
                                                           "waits now."}}},
        "ApprovalDecisionAnswer": _object({"recorded": {**vote, "nullable": True}, "decision": nullable_decision,
                                           "message": STRING}),
    }


def paths(setup_id: list[dict[str, Any]], json: Any, errors: Any) -> dict[str, Any]:
    body = {"required": True, "content": {"application/json": {"schema": _ref("ApprovalDecisionRequest")}}}
    return {
        "/api/v1/pipelines/{setup_id}/approval": {
            "get": {"operationId": "getApproval", "parameters": setup_id,
                    "responses": {"200": json(_ref("Approval"), "The approval waiting (if any) with the production "
                                                                "change set, as last read."),
                                  **errors("401", "404")}},
            "post": {"operationId": "decideApproval", "parameters": setup_id, "requestBody": body,
                     "description": "Approve or reject the waiting approval (approver and admin only). Exactly one "
                                    "decision per approval is sent to AWS (PutApprovalResult).",
                     "responses": {
                         "200": json(_ref("ApprovalDecisionAnswer"), "A first approval under the two-person rule: "
                                                                      "recorded, not sent."),
                         "202": json(_ref("ApprovalDecisionAnswer"), "The decision, pending: the worker sends it."),
                         **errors("400", "401", "403", "404", "409", "422", "503")}},
        },
    }
