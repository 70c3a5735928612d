"""Where a setup is in its life (draft, planned, applying, deployed, ...), from its recorded operations.

A setup row only knows whether the wizard is finished; what exists in AWS is known from the
operations the worker recorded. So the state shown to people is derived here from the newest plan
and the newest apply or teardown, never stored beside them where it could drift. An operation
cancelled before a worker started it ran nothing, so the caller passes it over; one cancelled while
it waited for a self-launched stack left what it finished, so it counts (as not deployed).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from core.models import Operation, OperationKind, OperationStatus, Setup, SetupStatus
from core.times import as_utc

UNFINISHED = (OperationStatus.PENDING.value, OperationStatus.RUNNING.value, OperationStatus.WAITING.value)


class Lifecycle(str, enum.Enum):
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


def moment(operation: Operation) -> datetime:
    return operation.finished_at or operation.started_at or operation.created_at


def setup_state(setup: Setup, plan: Operation | None, change: Operation | None) -> SetupState:
    """Derive the state from the newest non-cancelled plan and apply-or-teardown of ``setup``."""
    if setup.status == SetupStatus.DRAFT.value and change is None:
        return SetupState(Lifecycle.DRAFT, f"The wizard's {setup.wizard_step} step is not finished.", None, None)
    newer_plan = plan if plan is not None and (change is None or plan.id > change.id) else None
    if change is not None and change.status in UNFINISHED:
        state = Lifecycle.APPLYING if change.kind == OperationKind.APPLY.value else Lifecycle.TEARING_DOWN
        waiting = " (waiting for a stack an account's admin launches)" if change.status == "waiting" else ""
        return SetupState(state, f"{change.kind.capitalize()} #{change.id} is {change.status}{waiting}.",
                          moment(change), change.id)
    if change is None:
        return _before_any_change(newer_plan)
    state = _after_change(change)
    note = _change_note(setup, change)
    if newer_plan is not None:
        note += " " + _plan_note(newer_plan)
    return SetupState(state, note, moment(change), change.id)


def _before_any_change(plan: Operation | None) -> SetupState:
    if plan is None:
        return SetupState(Lifecycle.NOT_PLANNED, "Nothing has been planned or applied yet.", None, None)
    if plan.status in UNFINISHED:
        return SetupState(Lifecycle.PLANNING, f"Plan #{plan.id} is {plan.status}.", moment(plan), plan.id)
    if plan.status == OperationStatus.SUCCEEDED.value:
        return SetupState(Lifecycle.PLANNED, f"Plan #{plan.id} is ready for review; nothing was applied yet.",
                          moment(plan), plan.id)
    return SetupState(Lifecycle.FAILED, f"Plan #{plan.id} failed; nothing was applied yet.", moment(plan), plan.id)


def _after_change(change: Operation) -> Lifecycle:
    if change.status != OperationStatus.SUCCEEDED.value:
        return Lifecycle.FAILED
    return Lifecycle.DEPLOYED if change.kind == OperationKind.APPLY.value else Lifecycle.TORN_DOWN


def _change_note(setup: Setup, change: Operation) -> str:
    if change.status == OperationStatus.CANCELLED.value:
        return (f"{change.kind.capitalize()} #{change.id} was cancelled while it waited for a self-launched "
                "stack; the stacks it finished stay: plan again to see what is left.")
    if change.status != OperationStatus.SUCCEEDED.value:
        return f"{change.kind.capitalize()} #{change.id} failed."
    if change.kind == OperationKind.TEARDOWN.value:
        return f"Teardown #{change.id} deleted the portal's stacks."
    applied_version = change.detail.get("setup_version")
    if applied_version is not None and applied_version != setup.version:
        return f"Deployed by apply #{change.id}; the setup changed since: plan to see what would change."
    return f"Deployed by apply #{change.id}."


def _plan_note(plan: Operation) -> str:
    if plan.status in UNFINISHED:
        return f"Plan #{plan.id} is {plan.status}."
    if plan.status == OperationStatus.SUCCEEDED.value:
        return f"Plan #{plan.id} is ready for review."
    return f"Plan #{plan.id} failed."


def last_activity(setup: Setup, *operations: Operation | None) -> datetime:
    """The newest of the setup's own change and its operations' recorded moments (the list's "updated")."""
    moments = [setup.updated_at, *(moment(op) for op in operations if op is not None)]
    return max(as_utc(m) for m in moments)  # type: ignore[type-var]
