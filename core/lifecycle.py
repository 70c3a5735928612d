"""Where a setup is in its life (draft, planned, applying, deployed, ...), from its recorded operations.

A setup row only knows whether the wizard is finished; what exists in AWS is known from the
operations the worker recorded. So the state shown to people is derived here from the newest plan
and the newest apply or teardown, never stored beside them where it could drift. An operation
cancelled before a worker started it ran nothing, so it is passed over; one cancelled while it
waited for a self-launched stack left what it finished, so it counts.

Whether a setup is deployed (its badge says "deployed", the dashboard shows its pipeline) is one
rule, ``deployed_setup_ids``: a succeeded apply and no teardown run since. A failed or cancelled
re-apply does not undo an earlier deployment (CloudFormation rolls a failed update back), so such a
setup stays deployed, with a note that its last apply failed.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core.models import Operation, OperationKind, OperationStatus, Setup, SetupStatus
from core.times import as_utc

UNFINISHED = (OperationStatus.PENDING, OperationStatus.RUNNING, OperationStatus.WAITING)
CHANGES = (OperationKind.APPLY, OperationKind.TEARDOWN)
# Every operation but one cancelled before a worker started it: that one ran nothing and is passed over.
RAN = or_(Operation.status != OperationStatus.CANCELLED, Operation.started_at.is_not(None))
# The operations that decide whether a setup's stacks are deployed; the newest of them does. A
# teardown that ran may have deleted them, whatever its end (the build stack, the pipeline, goes first).
DEPLOYMENT_EVIDENCE: ColumnElement[bool] = or_(
    and_(Operation.kind == OperationKind.APPLY, Operation.status == OperationStatus.SUCCEEDED),
    and_(Operation.kind == OperationKind.TEARDOWN, Operation.status != OperationStatus.PENDING, RAN),
)


class Lifecycle(enum.StrEnum):
    DRAFT = "draft"  # the wizard is not finished
    NOT_PLANNED = "not planned"  # complete, nothing planned or applied yet
    PLANNING = "planning"
    PLANNED = "planned"  # a plan is ready for review and nothing was applied since
    APPLYING = "applying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    TEARING_DOWN = "tearing down"
    TORN_DOWN = "torn down"

    @property
    def css(self) -> str:
        return self.value.replace(" ", "-")


@dataclass(frozen=True)
class SetupState:
    lifecycle: Lifecycle
    note: str  # one sentence naming the evidence: which operation, and what else is waiting
    since: datetime | None  # when that evidence was recorded
    operation_id: int | None


def deployed_setup_ids(session: Session, only: int | None = None) -> list[int]:
    """The setups whose stacks (and so whose pipeline) are deployed, in id order.

    ``only`` asks about one setup (a page's question), without looking at the others.
    """
    newest = select(Operation.setup_id, func.max(Operation.id).label("op_id")).where(DEPLOYMENT_EVIDENCE)
    if only is not None:
        newest = newest.where(Operation.setup_id == only)
    newest = newest.group_by(Operation.setup_id).subquery()
    rows = session.execute(
        select(Setup.id).join(newest, newest.c.setup_id == Setup.id).join(Operation, Operation.id == newest.c.op_id)
        .where(Operation.kind == OperationKind.APPLY).order_by(Setup.id))
    return [row[0] for row in rows]


def is_deployed(session: Session, setup_id: int) -> bool:
    """``deployed_setup_ids``'s rule for one setup, as one indexed lookup (the live page asks it per poll)."""
    newest = session.execute(select(Operation.kind).where(Operation.setup_id == setup_id, DEPLOYMENT_EVIDENCE)
                             .order_by(Operation.id.desc()).limit(1)).scalar()
    return newest == OperationKind.APPLY


def newest_that_ran(session: Session, setup_id: int, *kinds: OperationKind) -> Operation | None:
    """The setup's newest operation of these kinds that a worker started (see RAN)."""
    return session.scalars(select(Operation).where(Operation.setup_id == setup_id, Operation.kind.in_(kinds), RAN)
                           .order_by(Operation.id.desc()).limit(1)).first()


def state_of(session: Session, setup: Setup) -> tuple[SetupState, datetime]:
    """The setup's state, derived from its recorded operations, and when it last changed."""
    plan = newest_that_ran(session, setup.id, OperationKind.PLAN)
    change = newest_that_ran(session, setup.id, *CHANGES)
    deployed = change is not None and is_deployed(session, setup.id)
    return setup_state(setup, plan, change, deployed), last_activity(setup, plan, change)


def moment(operation: Operation) -> datetime:
    return operation.finished_at or operation.started_at or operation.created_at


def setup_state(setup: Setup, plan: Operation | None, change: Operation | None, deployed: bool) -> SetupState:
    """Derive the state from the newest plan and apply-or-teardown of ``setup`` that ran.

    ``deployed`` is ``is_deployed``'s answer: the operations before ``change`` may have deployed
    what a failed ``change`` left in place.
    """
    if setup.status == SetupStatus.DRAFT and change is None:
        return SetupState(Lifecycle.DRAFT, f"The wizard's {setup.wizard_step} step is not finished.", None, None)
    newer_plan = plan if plan is not None and (change is None or plan.id > change.id) else None
    if change is not None and change.status in UNFINISHED:
        state = Lifecycle.APPLYING if change.kind == OperationKind.APPLY else Lifecycle.TEARING_DOWN
        waiting = (" (waiting for a stack an account's admin launches)"
                   if change.status == OperationStatus.WAITING else "")
        return SetupState(state, f"{change.kind.capitalize()} #{change.id} is {change.status}{waiting}.",
                          moment(change), change.id)
    if change is None:
        return _before_any_change(newer_plan)
    state = _after_change(change, deployed)
    note = _change_note(setup, change, deployed)
    if newer_plan is not None:
        note += " " + _plan_note(newer_plan)
    return SetupState(state, note, moment(change), change.id)


def _before_any_change(plan: Operation | None) -> SetupState:
    if plan is None:
        return SetupState(Lifecycle.NOT_PLANNED, "Nothing has been planned or applied yet.", None, None)
    if plan.status in UNFINISHED:
        return SetupState(Lifecycle.PLANNING, f"Plan #{plan.id} is {plan.status}.", moment(plan), plan.id)
    if plan.status == OperationStatus.SUCCEEDED:
        return SetupState(Lifecycle.PLANNED, f"Plan #{plan.id} is ready for review; nothing was applied yet.",
                          moment(plan), plan.id)
    return SetupState(Lifecycle.FAILED, f"Plan #{plan.id} failed; nothing was applied yet.", moment(plan), plan.id)


def _after_change(change: Operation, deployed: bool) -> Lifecycle:
    if deployed:
        return Lifecycle.DEPLOYED
    if change.kind == OperationKind.TEARDOWN and change.status == OperationStatus.SUCCEEDED:
        return Lifecycle.TORN_DOWN
    return Lifecycle.FAILED


def _change_note(setup: Setup, change: Operation, deployed: bool) -> str:
    still = " The stacks an earlier apply deployed stay." if deployed else ""
    if change.status == OperationStatus.CANCELLED:
        return (f"{change.kind.capitalize()} #{change.id} was cancelled while it waited for a self-launched "
                f"stack; the stacks it finished stay: plan again to see what is left.{still}")
    if change.status != OperationStatus.SUCCEEDED:
        return f"{change.kind.capitalize()} #{change.id} failed.{still}"
    if change.kind == OperationKind.TEARDOWN:
        return f"Teardown #{change.id} deleted the portal's stacks."
    applied_version = change.detail.get("setup_version")
    if applied_version is not None and applied_version != setup.version:
        return f"Deployed by apply #{change.id}; the setup changed since: plan to see what would change."
    return f"Deployed by apply #{change.id}."


def _plan_note(plan: Operation) -> str:
    if plan.status in UNFINISHED:
        return f"Plan #{plan.id} is {plan.status}."
    if plan.status == OperationStatus.SUCCEEDED:
        return f"Plan #{plan.id} is ready for review."
    return f"Plan #{plan.id} failed."


def last_activity(setup: Setup, *operations: Operation | None) -> datetime:
    """The newest of the setup's own change and its operations' recorded moments (the list's "updated")."""
    moments = [setup.updated_at, *(moment(op) for op in operations if op is not None)]
    return max(as_utc(m) for m in moments)  # type: ignore[type-var]
