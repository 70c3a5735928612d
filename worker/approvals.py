"""Send one approval decision to AWS, at most once, with the token read from the current state.

The portal records an ``ApprovalDecision`` (its unique constraint lets exactly one exist per
approval), commits, then sends ``worker.send_approval`` with its id. The task claims the decision
(pending → running, a conditional UPDATE, so a re-delivered message does nothing), then reads the
pipeline's state *now* through the build account's session as the deciding user (RoleSessionName
``portal-<user>``, so CloudTrail shows who approved). Only if that approval still waits — same
execution, same run of the action — is PutApprovalResult sent, with the token just read: a token
from the stored snapshot could be stale and is never sent.

An approval that no longer waits (approved or rejected in the console, timed out, its execution
superseded or stopped) or that AWS reports decided (ApprovalAlreadyCompletedException,
InvalidApprovalTokenException) is an answer, not a crash: the decision ends ``completed`` with a
message saying what happened. Every end is audited with who, decision, comment, execution,
commit and AWS's answer; anything unexpected marks the decision failed, then re-raises.
"""
from __future__ import annotations

import logging
from datetime import timedelta, timezone
from typing import Any, Mapping

from botocore.exceptions import ClientError
from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session, sessionmaker

from core import approvals
from core.models import (ApprovalDecision, AuditEntry, Decision, DecisionStatus, PipelineSnapshot, Setup, utcnow)
from worker import aws_errors, context, db
from worker.celery_app import app
from worker.pipeline_refresh import pipeline_location

logger = logging.getLogger(__name__)

# A decision left running this long (its worker died between claim and answer) may be claimed again:
# the state is read afresh, so a result AWS took already is found decided, not sent twice.
STALE_RUNNING = timedelta(minutes=5)


def claim(factory: sessionmaker[Session], decision_id: int) -> bool:
    now = utcnow()
    stale = and_(ApprovalDecision.status == DecisionStatus.RUNNING.value,
                 ApprovalDecision.started_at < now - STALE_RUNNING)
    with factory() as session:
        taken = session.execute(
            update(ApprovalDecision)
            .where(ApprovalDecision.id == decision_id,
                   or_(ApprovalDecision.status == DecisionStatus.PENDING.value, stale))
            .values(status=DecisionStatus.RUNNING.value, started_at=now)
        ).rowcount
        session.commit()
    return taken == 1


def waiting_run(state: Mapping[str, Any], decision: ApprovalDecision) -> tuple[dict[str, Any] | None, str]:
    """The decision's approval run if it waits now, with its fresh token; else None and what became of it."""
    stage = next((s for s in state.get("stageStates", []) if s.get("stageName") == decision.stage), None)
    action = next((a for a in (stage or {}).get("actionStates", []) if a.get("actionName") == decision.action), None)
    latest = (action or {}).get("latestExecution") or {}
    in_stage = ((stage or {}).get("latestExecution") or {}).get("pipelineExecutionId")
    same_run = latest.get("actionExecutionId") == decision.approval_run_id or (
        not latest.get("actionExecutionId") and in_stage == decision.execution_id)
    if same_run and in_stage == decision.execution_id and latest.get("status") == "InProgress" and latest.get("token"):
        return latest, ""
    if same_run and latest.get("status") in ("Succeeded", "Failed"):
        verb = "approved" if latest["status"] == "Succeeded" else "rejected"
        by = f" by {latest['lastUpdatedBy']}" if latest.get("lastUpdatedBy") else ""
        said = f": {latest['summary']}" if latest.get("summary") else ""
        return None, f"The approval was {verb} already{by}{said}."
    if same_run and latest.get("status") == "Abandoned":
        return None, "The approval no longer waits: its execution was stopped."
    return None, ""


def _gone(client: Any, name: str, decision: ApprovalDecision) -> str:
    """Why the decision's approval no longer waits, from the execution's own status."""
    try:
        execution = client.get_pipeline_execution(pipelineName=name, pipelineExecutionId=decision.execution_id)
        status = execution["pipelineExecution"].get("status", "")
        summary = execution["pipelineExecution"].get("statusSummary") or ""
    except ClientError as err:
        return f"The approval no longer waits (execution {decision.execution_id}: {aws_errors.error_code(err)})."
    if status == "Superseded":
        return f"The approval no longer waits: execution {decision.execution_id} was superseded by a newer one."
    if status in ("Stopped", "Stopping"):
        return f"The approval no longer waits: execution {decision.execution_id} was stopped."
    if status == "Failed":
        return (f"The approval no longer waits: execution {decision.execution_id} failed"
                + (f" ({summary})" if summary else " (a rejection, or the approval timed out)") + ".")
    return f"The approval no longer waits: execution {decision.execution_id} is {status or 'unknown'}."


def _finish(session: Session, decision: ApprovalDecision, status: DecisionStatus, message: str,
            answer: dict[str, Any] | None = None) -> None:
    decision.status, decision.message, decision.finished_at = status.value, message[:2000], utcnow()
    outcome = {DecisionStatus.SENT: "success", DecisionStatus.COMPLETED: "failed"}.get(status, "failed")
    session.add(AuditEntry(
        actor=decision.decided_by[:64], action=f"production.{decision.decision}", target=f"setup:{decision.setup_id}",
        outcome=outcome, message=message[:2000],
        detail={"decision_id": decision.id, "decision": decision.decision, "comment": decision.comment,
                "execution_id": decision.execution_id, "commit_id": decision.commit_id,
                "first_approver": decision.first_approver, "status": status.value, "aws_answer": answer or {}}))
    # Show the execution moving on soon, whoever watches: one read, whatever the number of viewers.
    session.execute(update(PipelineSnapshot).where(PipelineSnapshot.setup_id == decision.setup_id)
                    .values(next_read_at=utcnow()))


def _send(client: Any, name: str, decision: ApprovalDecision) -> tuple[DecisionStatus, str, dict[str, Any]]:
    state = client.get_pipeline_state(name=name)
    run, what_happened = waiting_run(state, decision)
    if run is None:
        return DecisionStatus.COMPLETED, what_happened or _gone(client, name, decision), {}
    status = "Approved" if decision.decision == Decision.APPROVE.value else "Rejected"
    text = approvals.summary(decision.decision, decision.decided_by, decision.comment, decision.first_approver)
    try:
        answer = client.put_approval_result(pipelineName=name, stageName=decision.stage, actionName=decision.action,
                                            result={"summary": text, "status": status}, token=run["token"])
    except ClientError as err:
        if not aws_errors.is_approval_completed(err):
            raise
        return (DecisionStatus.COMPLETED, f"AWS says the approval is decided already: {aws_errors.error_code(err)}: "
                f"{aws_errors.error_message(err)}", {"error": aws_errors.error_code(err)})
    approved_at = answer.get("approvedAt")
    verb = "Approved" if status == "Approved" else "Rejected"
    when = f" at {approved_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if approved_at else ""
    return (DecisionStatus.SENT, f"{verb}: AWS took the result{when}.",
            {"approvedAt": approved_at.isoformat() if approved_at else None, "summary": text})


def run(factory: sessionmaker[Session], decision_id: int) -> None:
    """Send one decision once (see the module docstring)."""
    if not claim(factory, decision_id):
        logger.info("approval decision %s was taken or finished already", decision_id)
        return
    with factory() as session:
        decision = session.get(ApprovalDecision, decision_id)
        assert decision is not None
        setup = session.get(Setup, decision.setup_id)
        assert setup is not None
        name, account, region = pipeline_location(session, setup)
        try:
            client = context.for_user(decision.decided_by, setup).codepipeline(account)
            status, message, answer = _send(client, name, decision)
        except Exception as err:
            session.rollback()
            _finish(session, decision, DecisionStatus.FAILED, f"Could not be sent: {err}")
            session.commit()
            raise
        logger.info("pipeline %s (account %s, %s): %s of execution %s by %s: %s", name, account, region,
                    decision.decision, decision.execution_id, decision.decided_by, message)
        _finish(session, decision, status, message, answer)
        session.commit()


@app.task(name="worker.send_approval")
def send_approval(decision_id: int) -> None:
    """Send an approver's decision (PutApprovalResult) with the current token."""
    run(db.session_factory(), decision_id)


