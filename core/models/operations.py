"""Operations the worker runs on a setup (plan, apply, teardown), their stacks and stack events."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_type, utcnow


class OperationKind(enum.StrEnum):
    PLAN = "plan"
    APPLY = "apply"
    TEARDOWN = "teardown"


class OperationStatus(enum.StrEnum):
    PENDING = "pending"  # recorded, task enqueued, no worker has started it
    RUNNING = "running"
    WAITING = "waiting"  # waiting on something outside (a self-launched stack)
    SUCCEEDED = "succeeded"  # for a plan: change sets ready for review
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (OperationStatus.SUCCEEDED, OperationStatus.FAILED, OperationStatus.CANCELLED)


@dataclass(frozen=True)
class OneAtATime:
    """Operations of these kinds in these statuses, of which a setup may have at most one.

    A partial unique index on ``setup_id`` enforces it (``predicate`` is its WHERE clause), and the
    portal reads the same kinds and statuses to name the operation a refused request collided with.
    """

    index: str
    kinds: tuple[OperationKind, ...]
    statuses: tuple[OperationStatus, ...]

    @property
    def predicate(self) -> str:
        return f"kind {_in(self.kinds)} AND status {_in(self.statuses)}"


def _in(values: tuple[enum.Enum, ...]) -> str:
    # Our own enum values, never user input: quoting them here is safe.
    quoted = ", ".join(f"'{value.value}'" for value in values)
    return f"= {quoted}" if len(values) == 1 else f"IN ({quoted})"


# At most one apply or teardown of a setup may be requested and unfinished, and at most one plan
# prepared at a time: the portal inserts the pending row through these indexes, so a second request
# (two tabs, a double click) fails on the database itself (SQLite and PostgreSQL), before any task
# is queued. Migration 0005 created the indexes with these predicates, written out (migrations are
# frozen history); tests/core/test_models.py checks that the database's indexes still say this.
ONE_CHANGE = OneAtATime("uq_operations_one_change", (OperationKind.APPLY, OperationKind.TEARDOWN),
                        (OperationStatus.PENDING, OperationStatus.RUNNING, OperationStatus.WAITING))
ONE_PLAN = OneAtATime("uq_operations_one_plan", (OperationKind.PLAN,),
                      (OperationStatus.PENDING, OperationStatus.RUNNING))
ONE_AT_A_TIME = {OperationKind.PLAN: ONE_PLAN, OperationKind.APPLY: ONE_CHANGE, OperationKind.TEARDOWN: ONE_CHANGE}


def _unique_per_setup(rule: OneAtATime) -> Index:
    where = text(rule.predicate)
    return Index(rule.index, "setup_id", unique=True, sqlite_where=where, postgresql_where=where)


class Operation(Base):
    __tablename__ = "operations"
    __table_args__ = (_unique_per_setup(ONE_CHANGE), _unique_per_setup(ONE_PLAN))

    id: Mapped[int] = mapped_column(primary_key=True)
    setup_id: Mapped[int] = mapped_column(ForeignKey("setups.id", ondelete="CASCADE"), index=True)
    kind: Mapped[OperationKind] = mapped_column(enum_type(OperationKind, 16))
    status: Mapped[OperationStatus] = mapped_column(enum_type(OperationStatus, 16), default=OperationStatus.PENDING,
                                                    index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    # An apply executes the change sets of the plan the user reviewed.
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("operations.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    # When a worker's sweep last sent the task of this still-pending operation again (its first
    # message was lost, or the portal died before sending it): worker/outbox.py.
    resent_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    # How many stack records the operation's start step committed; None until it has. An operation
    # concludes only from the recorded outcome of that many stacks, so "no records yet" is never
    # read as "every stack done".
    stacks_expected: Mapped[int | None] = mapped_column(default=None)
    # {"resource": ..., "type": ..., "reason": ..., "stack": ...} for a failed apply.
    root_cause: Mapped[dict[str, Any]] = mapped_column(default=dict)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    stacks: Mapped[list["StackRecord"]] = relationship(
        back_populates="operation", cascade="all, delete-orphan", order_by="StackRecord.id"
    )

    @property
    def stacks_in_flight(self) -> list["StackRecord"]:
        """The stacks the worker is changing in AWS right now (see IN_FLIGHT_PHASES)."""
        return [r for r in self.stacks if StackPhase(r.phase) in IN_FLIGHT_PHASES]

    @property
    def is_cancellable(self) -> bool:
        """Pending (no worker started it), or waiting for a self-launched stack with none of its stacks in flight.

        portal/operation_requests.py cancel enforces the same with a conditional UPDATE.
        """
        if self.status == OperationStatus.PENDING:
            return True
        return self.status == OperationStatus.WAITING and not self.stacks_in_flight


class StackRole(enum.StrEnum):
    DEPLOY = "deploy"  # templates_cfn/deploy-dependencies.yaml in a deploy account
    BUILD = "build"  # templates_cfn/build-pipeline.yaml in the build account


class StackAction(enum.StrEnum):
    """What a plan will do to a stack."""

    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"  # in ROLLBACK_COMPLETE: deleted, then created again
    UNCHANGED = "unchanged"  # the change set was empty: up to date
    SELF_LAUNCH = "self_launch"  # the account's admin launches it; the worker waits for it
    DELETE = "delete"  # teardown
    ABSENT = "absent"  # teardown of a stack that does not exist
    # Not known yet: the record waits for its change set (or the stack's description) to be read.
    # Every record starts so, and the column has held "" for it since migration 0003, so the empty
    # string is a member rather than a missing value (and, a str, it is falsy like before).
    UNDECIDED = ""


class StackPhase(enum.StrEnum):
    """Where the worker is with a stack; a restarted worker resumes from here."""

    PENDING = "pending"
    CHANGE_SET = "change_set"  # a change set is being created
    DELETING = "deleting"
    EXECUTING = "executing"
    WAITING = "waiting"  # for a self-launched stack to appear and finish
    DONE = "done"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (StackPhase.DONE, StackPhase.FAILED)


# The phases in which the worker is changing a stack in AWS (a change set being made, executed or a
# stack deleted). Outside them nothing of the operation is under way: a pending record has not
# started, a waiting one only watches for the account's admin, done and failed ones have settled.
# An operation with no record in these phases may be cancelled without leaving a stack half-changed.
IN_FLIGHT_PHASES = (StackPhase.CHANGE_SET, StackPhase.EXECUTING, StackPhase.DELETING)


class StackRecord(Base):
    """One stack touched by one operation, with its change set and latest state."""

    __tablename__ = "stacks"
    __table_args__ = (UniqueConstraint("operation_id", "account_id", "stack_name", name="uq_stacks_op_account_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"), index=True)
    role: Mapped[StackRole] = mapped_column(enum_type(StackRole, 16))
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    stack_name: Mapped[str] = mapped_column(String(128))
    stack_id: Mapped[str] = mapped_column(String(255), default="")
    change_set_name: Mapped[str] = mapped_column(String(128), default="")
    change_set_id: Mapped[str] = mapped_column(String(255), default="")
    change_set_type: Mapped[str] = mapped_column(String(16), default="")  # CREATE | UPDATE
    change_set_status: Mapped[str] = mapped_column(String(32), default="")
    # [{"action", "logical_id", "physical_id", "type", "replacement"}]
    changes: Mapped[list[Any]] = mapped_column(default=list)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stack_status: Mapped[str] = mapped_column(String(64), default="")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where event polling resumes after a worker restart.
    last_event_id: Mapped[str] = mapped_column(String(255), default="")
    action: Mapped[StackAction] = mapped_column(enum_type(StackAction, 16), default=StackAction.UNDECIDED)
    # Migration 0003 gave phase a server default of "", but the worker that writes records came with
    # it and has always set a phase: no row holds "", so StackPhase has no member for it.
    phase: Mapped[StackPhase] = mapped_column(enum_type(StackPhase, 16), default=StackPhase.PENDING)
    template_sha256: Mapped[str] = mapped_column(String(64), default="")
    # The chain of monitor tasks following this stack: only the task carrying lease_token may
    # poll; a lease that ran out (its worker died) may be taken over by any other task.
    lease_token: Mapped[str] = mapped_column(String(32), default="")
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # Launch instructions, recreate notes, polling counters: {"quick_create_url": ..., ...}.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    operation: Mapped[Operation] = relationship(back_populates="stacks")
    events: Mapped[list["StackEvent"]] = relationship(
        back_populates="stack", cascade="all, delete-orphan", order_by="StackEvent.timestamp"
    )


class StackEvent(Base):
    __tablename__ = "stack_events"
    # The unique key is what makes "no event stored twice" hold across worker restarts.
    __table_args__ = (UniqueConstraint("stack_record_id", "event_id", name="uq_stack_events_stack_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stack_record_id: Mapped[int] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(255))
    timestamp: Mapped[datetime]
    logical_id: Mapped[str] = mapped_column(String(255))
    physical_id: Mapped[str] = mapped_column(String(1024), default="")
    resource_type: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    stack: Mapped[StackRecord] = relationship(back_populates="events")
