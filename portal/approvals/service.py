"""The approval's reads and decisions: the review the worker stores, and exactly one result per approval.

The portal never reads AWS. Opening the page records the review of the waiting execution once
(its unique row is the deduplication: whoever inserts it sends the read) and asks again while it
is incomplete. A decision is an ``ApprovalDecision`` row whose unique constraint admits one per
approval, committed before ``worker.send_approval`` is sent; under the two-person rule the first
approval is an ``ApprovalVote`` (one per person), and the second approver's decision names it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import approvals, pipelines, teams
from core.models import (ApprovalDecision, ApprovalReview, ApprovalVote, Decision, DecisionStatus, PipelineSnapshot,
                         ReviewStatus, Setup, utcnow)
from portal import audit, queue

log = logging.getLogger(__name__)

READ_TASK = "worker.read_approval"
SEND_TASK = "worker.send_approval"
# A review asked for this long ago and still not read (its message was lost) is asked for again.
RESEND_SECONDS = 30.0


class Refused(Exception):
    """The decision cannot be taken (nothing waits, another one was taken, you approved already)."""

    def __init__(self, message: str, existing: ApprovalDecision | None = None):
        super().__init__(message)
        self.existing = existing


def waiting_approval(snapshot: PipelineSnapshot | None) -> dict[str, Any] | None:
    """The approval waiting as of the last read, with the run of its action; None when none waits."""
    if snapshot is None or snapshot.read_at is None or not (snapshot.approval or {}).get("execution_id"):
        return None
    approval = dict(snapshot.approval)
    stage_name, action_name = pipelines.APPROVAL_ACTION
    stage = next((s for s in snapshot.stages if s.get("name") == stage_name), {})
    action = next((a for a in stage.get("actions", []) if a.get("name") == action_name), {})
    # No run id from AWS: the execution alone names the approval.
    approval["run_id"] = action.get("action_execution_id") or approval["execution_id"]
    return approval


def commit_of(snapshot: PipelineSnapshot | None, execution_id: str) -> dict[str, str]:
    execution = next((e for e in (snapshot.executions if snapshot else []) if e.get("id") == execution_id), None)
    revisions = (execution or {}).get("revisions") or []
    return {"commit_id": revisions[0].get("commit_id", ""), "message": revisions[0].get("message", "")} \
        if revisions else {"commit_id": "", "message": ""}


def review_of(session: Session, setup: Setup, execution_id: str, now: datetime | None = None) -> ApprovalReview:
    """The stored review of ``execution_id``, asking the worker to read it when it is new, lost or incomplete."""
    now = now or utcnow()
    review = _find_review(session, setup.id, execution_id)
    if review is None:
        review = ApprovalReview(setup_id=setup.id, execution_id=execution_id, requested_at=now)
        session.add(review)
        try:
            session.commit()
        except IntegrityError:  # another viewer inserted it meanwhile: that viewer sends the read
            session.rollback()
            found = _find_review(session, setup.id, execution_id)
            assert found is not None
            return found
        _send_read(review)
        return review
    reread = and_(ApprovalReview.status == ReviewStatus.READ.value, ApprovalReview.complete.is_(False),
                  ApprovalReview.read_at < now - timedelta(seconds=approvals.REREAD_SECONDS))
    lost = and_(ApprovalReview.status == ReviewStatus.PENDING.value,
                ApprovalReview.requested_at < now - timedelta(seconds=RESEND_SECONDS))
    asked = session.execute(update(ApprovalReview).where(ApprovalReview.id == review.id, reread | lost)
                            .values(status=ReviewStatus.PENDING.value, requested_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if asked == 1:  # one viewer's UPDATE wins, so one read is sent
        _send_read(review)
        session.refresh(review)
    return review


def _find_review(session: Session, setup_id: int, execution_id: str) -> ApprovalReview | None:
    return session.scalar(select(ApprovalReview).where(ApprovalReview.setup_id == setup_id,
                                                       ApprovalReview.execution_id == execution_id))


def _send_read(review: ApprovalReview) -> None:
    try:
        queue.enqueue(READ_TASK, review.id)
    except queue.QueueUnavailable as err:  # the row stays asked for; the next page re-sends it
        log.warning("approval review %s not sent: %s", review.id, err)


def decision_for(session: Session, setup_id: int, approval: dict[str, Any]) -> ApprovalDecision | None:
    return session.scalar(select(ApprovalDecision).where(
        ApprovalDecision.setup_id == setup_id, ApprovalDecision.execution_id == approval["execution_id"],
        ApprovalDecision.approval_run_id == approval["run_id"]))


def resend_if_lost(session: Session, decision: ApprovalDecision | None, now: datetime | None = None) -> None:
    """Send a decision again that has waited for a worker longer than RESEND_SECONDS (its message was lost).

    One conditional UPDATE (``started_at`` marks the re-send until the worker claims it), so one viewer re-sends;
    a re-send is harmless: the worker claims a decision once and reads the state afresh.
    """
    if decision is None or decision.status != DecisionStatus.PENDING.value:
        return
    now = now or utcnow()
    before = now - timedelta(seconds=RESEND_SECONDS)
    taken = session.execute(update(ApprovalDecision).where(
        ApprovalDecision.id == decision.id, ApprovalDecision.status == DecisionStatus.PENDING.value,
        ApprovalDecision.created_at < before,
        ApprovalDecision.started_at.is_(None) | (ApprovalDecision.started_at < before),
    ).values(started_at=now).execution_options(synchronize_session=False)).rowcount
    session.commit()
    if taken == 1:
        try:
            queue.enqueue(SEND_TASK, decision.id)
        except queue.QueueUnavailable as err:
            log.warning("approval decision %s not re-sent: %s", decision.id, err)


def votes_for(session: Session, setup_id: int, approval: dict[str, Any]) -> list[ApprovalVote]:
    return list(session.scalars(select(ApprovalVote).where(
        ApprovalVote.setup_id == setup_id, ApprovalVote.execution_id == approval["execution_id"],
        ApprovalVote.approval_run_id == approval["run_id"]).order_by(ApprovalVote.id)))


def recent_decisions(session: Session, setup_id: int, limit: int = 10) -> list[ApprovalDecision]:
    return list(session.scalars(select(ApprovalDecision).where(ApprovalDecision.setup_id == setup_id)
                                .order_by(ApprovalDecision.id.desc()).limit(limit)))


def decide(session: Session, setup: Setup, snapshot: PipelineSnapshot | None, username: str, decision: Decision,
           comment: str, seen_execution_id: str = "") -> ApprovalDecision | ApprovalVote:
    """Record ``username``'s decision on the waiting approval; a first approval under the two-person rule
    is a vote, anything else the one decision the worker sends.

    :raise Refused: nothing waits, another execution waits than the one reviewed, the approval is decided
        already, or ``username`` approved it already
    """
    approval = waiting_approval(snapshot)
    if approval is None:
        raise Refused("No approval waits for this pipeline as of its last read: there is nothing to decide.")
    if seen_execution_id and seen_execution_id != approval["execution_id"]:
        raise Refused(f"The approval you reviewed (execution {seen_execution_id[:8]}) no longer waits; execution "
                      f"{approval['execution_id'][:8]} waits now. Review its changes before deciding.")
    existing = decision_for(session, setup.id, approval)
    if existing is not None and existing.status != DecisionStatus.FAILED.value:
        raise _decided(existing)
    first = ""
    if decision == Decision.APPROVE and setup.two_person_approval:
        first = _first_approver(session, setup, approval, username, comment)
        if not first:
            return votes_for(session, setup.id, approval)[-1]
    commit = commit_of(snapshot, approval["execution_id"])["commit_id"]
    fields = {"decision": decision.value, "decided_by": username, "first_approver": first, "comment": comment,
              "commit_id": commit[:64], "status": DecisionStatus.PENDING.value, "message": "", "finished_at": None,
              "started_at": None}
    if existing is not None:
        row = _retake(session, existing, fields)
    else:
        row = ApprovalDecision(setup_id=setup.id, execution_id=approval["execution_id"],
                               approval_run_id=approval["run_id"], stage=approval.get("stage") or pipelines.APPROVE_PRODUCTION,
                               action=approval.get("action") or pipelines.APPROVAL_ACTION[1], **fields)
        session.add(row)
        try:
            session.flush()
        except IntegrityError:  # a double click, another browser, another approver: theirs stands
            session.rollback()
            taken = decision_for(session, setup.id, approval)
            raise _decided(taken) from None
    audit.record(f"production.{decision.value}", audit.SUCCESS, target=f"setup:{setup.id}", message="requested",
                 detail={"decision_id": row.id, "execution_id": row.execution_id, "commit_id": row.commit_id,
                         "comment": comment, "first_approver": first})
    session.commit()
    try:
        queue.enqueue(SEND_TASK, row.id)
    except queue.QueueUnavailable as err:
        row.status, row.message, row.finished_at = DecisionStatus.FAILED.value, str(err), utcnow()
        session.commit()
    return row


def _retake(session: Session, failed: ApprovalDecision, fields: dict[str, Any]) -> ApprovalDecision:
    """Take over a decision that could not be sent: one conditional UPDATE, so one retry wins.

    Safe even if AWS took the failed one: the worker reads the state afresh and finds it decided.
    """
    taken = session.execute(update(ApprovalDecision).where(ApprovalDecision.id == failed.id,
                                                           ApprovalDecision.status == DecisionStatus.FAILED.value)
                            .values(**fields).execution_options(synchronize_session=False)).rowcount
    session.commit()
    session.refresh(failed)
    if taken != 1:
        raise _decided(failed)
    return failed


def _first_approver(session: Session, setup: Setup, approval: dict[str, Any], username: str, comment: str) -> str:
    """Under the two-person rule: the other approver whose approval this one completes, or "" when this is the first.

    :raise Refused: ``username`` approved this approval already
    """
    votes = votes_for(session, setup.id, approval)
    if any(v.username == username for v in votes):
        raise Refused("You approved this already: a second, different approver decides now.")
    others = _counted(session, setup, votes, username)
    if others:
        return others[0]
    session.add(ApprovalVote(setup_id=setup.id, execution_id=approval["execution_id"], approval_run_id=approval["run_id"],
                             username=username, comment=comment))
    try:
        session.flush()
    except IntegrityError:  # the same person twice at once
        session.rollback()
        raise Refused("You approved this already: a second, different approver decides now.") from None
    audit.record("production.approve", audit.SUCCESS, target=f"setup:{setup.id}",
                 message="first approval recorded; a second approver decides",
                 detail={"execution_id": approval["execution_id"], "comment": comment})
    session.commit()
    # Two first approvals at once: the later one sees the earlier one now, and completes it.
    others = _counted(session, setup, votes_for(session, setup.id, approval), username)
    return others[0] if others else ""


def _counted(session: Session, setup: Setup, votes: list[ApprovalVote], username: str) -> list[str]:
    """The first approvers, other than ``username``, who still may approve this setup's team: one removed from
    the team (or no longer its approver) since approving no longer counts as a second person."""
    return [v.username for v in votes
            if v.username != username and teams.may_approve(session, v.username, setup.team_id)]


def _decided(existing: ApprovalDecision | None) -> Refused:
    if existing is None:
        return Refused("This approval was decided already.")
    verb = "approved" if existing.decision == Decision.APPROVE.value else "rejected"
    return Refused(f"This approval was {verb} already by {existing.decided_by} ({existing.status}).", existing)
