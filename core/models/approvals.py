"""The production approval: what the worker read for an approver to review, and the decisions made.

``ApprovalReview`` is read once per waiting execution (the production change set, the staging
stack, the approval's CustomData) and shown to every approver who opens the page, like the
pipeline snapshot. ``ApprovalDecision`` is the one result sent to AWS for one approval: its unique
constraint, not a lock, is what makes a double click, two browsers or two approvers at once send
exactly one PutApprovalResult. ``ApprovalVote`` records the first approvals of the two-person rule,
one per person, so nobody approves twice.

An approval is named by its execution and by the run of its action (GetPipelineState's
``actionExecutionId``): a stage retried after a rejection waits again with a new run, which may be
decided afresh.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_type, utcnow


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"  # asked for; the worker reads it next
    READING = "reading"  # a worker holds the read
    READ = "read"  # stored; ``complete`` says whether it needs reading again


class ApprovalReview(Base):
    """What an approver reviews for one waiting execution, as the worker last read it."""

    __tablename__ = "approval_reviews"
    __table_args__ = (UniqueConstraint("setup_id", "execution_id", name="uq_approval_reviews_setup_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    setup_id: Mapped[int] = mapped_column(ForeignKey("setups.id", ondelete="CASCADE"), index=True)
    execution_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[ReviewStatus] = mapped_column(enum_type(ReviewStatus, 16), default=ReviewStatus.PENDING)
    # APP-production-<execution id> (docs/contracts.md), in the production account.
    change_set_name: Mapped[str] = mapped_column(String(200), default="")
    # {"status", "status_reason", "execution_status", "created_at", "changes": [{"action", "logical_id",
    #  "physical_id", "type", "replacement", "scope", "details": [...]}]}; {} until found.
    change_set: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Why the change set is not shown (not created yet, the production account cannot be read).
    change_set_problem: Mapped[str] = mapped_column(Text, default="")
    # {"stack_name", "status", "status_reason", "outputs": [{"key", "value", "description"}]}
    staging: Mapped[dict[str, Any]] = mapped_column(default=dict)
    staging_problem: Mapped[str] = mapped_column(Text, default="")
    custom_data: Mapped[str] = mapped_column(Text, default="")
    # The approval action's own timeout (a V2 pipeline's timeoutInMinutes); None: CodePipeline's 7 days.
    timeout_minutes: Mapped[int | None] = mapped_column(default=None)
    # Nothing left to read: the change set is created (or failed) and both accounts answered.
    complete: Mapped[bool] = mapped_column(default=False)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class DecisionStatus(enum.StrEnum):
    PENDING = "pending"  # recorded; the worker sends it next
    RUNNING = "running"  # a worker holds it
    SENT = "sent"  # AWS accepted the result
    COMPLETED = "completed"  # the approval was decided elsewhere (console, timeout, superseded): not sent
    FAILED = "failed"  # could not be sent (queue down, an unexpected error); ``message`` says why

    @property
    def is_final(self) -> bool:
        return self in (DecisionStatus.SENT, DecisionStatus.COMPLETED, DecisionStatus.FAILED)


class ApprovalDecision(Base):
    """The one result of one approval that the worker sends to AWS (at most once)."""

    __tablename__ = "approval_decisions"
    __table_args__ = (UniqueConstraint("setup_id", "execution_id", "approval_run_id",
                                       name="uq_approval_decisions_one_per_approval"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    setup_id: Mapped[int] = mapped_column(ForeignKey("setups.id", ondelete="CASCADE"), index=True)
    execution_id: Mapped[str] = mapped_column(String(100))
    approval_run_id: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    decision: Mapped[Decision] = mapped_column(enum_type(Decision, 16))
    decided_by: Mapped[str] = mapped_column(String(64))
    first_approver: Mapped[str] = mapped_column(String(64), default="")  # the two-person rule's first
    comment: Mapped[str] = mapped_column(Text, default="")
    commit_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[DecisionStatus] = mapped_column(enum_type(DecisionStatus, 16), default=DecisionStatus.PENDING)
    message: Mapped[str] = mapped_column(Text, default="")  # AWS's answer, or why it was not sent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class ApprovalVote(Base):
    """A first approval under the two-person rule: recorded, never sent."""

    __tablename__ = "approval_votes"
    __table_args__ = (UniqueConstraint("setup_id", "execution_id", "approval_run_id", "username",
                                       name="uq_approval_votes_one_per_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    setup_id: Mapped[int] = mapped_column(ForeignKey("setups.id", ondelete="CASCADE"), index=True)
    execution_id: Mapped[str] = mapped_column(String(100))
    approval_run_id: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
