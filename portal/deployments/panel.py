"""The deployment part of a setup's page: the latest plan to review, and the latest apply or teardown."""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from core.models import Operation, OperationKind, Setup
from portal.deployments import presenters, service
from portal.deployments.forms import ApplyForm


def plan_review(session: Session, setup: Setup, plan: Operation) -> dict[str, Any]:
    """Why the plan cannot be applied now, and the apply that already executed it (if one did)."""
    return {"plan_refusal": service.apply_refusal(session, setup, plan), "applied_by": service.used_by(session, plan)}


def setup_panel(session: Session, setup: Setup) -> dict[str, Any]:
    """Return what the setup page shows about plans and changes."""
    plan = service.latest(session, setup, OperationKind.PLAN.value)
    change = service.latest(session, setup, OperationKind.APPLY.value, OperationKind.TEARDOWN.value)
    applied = service.latest(session, setup, OperationKind.APPLY.value)
    state, _ = service.state_of(session, setup)
    return {
        "state": state,
        "plan": plan,
        **(plan_review(session, setup, plan) if plan is not None else {"plan_refusal": "", "applied_by": None}),
        "change": change,
        "change_result": presenters.result(change) if change is not None else {},
        "handover": (presenters.handover(change, setup, current_app.config["EMULATOR_URL"])
                     if change is not None else {}),
        # Someone applied once (even if it failed half way): there may be stacks to delete.
        "can_tear_down": applied is not None and not service.teardown_refusal(session, setup),
        "apply_form": ApplyForm(),
        # The page follows the newest unfinished operation and reloads when its status changes.
        "watch": next((op for op in (change, plan) if op is not None and not presenters.is_terminal(op)), None),
    }
