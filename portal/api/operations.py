"""JSON API for deployments: a setup's operations, stack events, applying a plan and tearing down."""
from __future__ import annotations

import logging
import math

from flask import current_app, g, jsonify, url_for
from sqlalchemy import func, select

from core.models import Operation, OperationKind, OperationStatus
from core.validation import MAX_ID
from portal.api import bp
from portal.api.routes import ApiError, json_body, load_operation, load_setup, page_number
from portal import operation_requests as requests
from portal import params
from portal.access import setup_required
from portal.db import get_session
from portal.deployments import presenters, service
from portal.setups.document_rules import NOT_A_STRING, UNKNOWN_FIELD

log = logging.getLogger(__name__)


def accepted(operation: Operation):
    """Answer 202 with the new operation, or 503 when the broker did not take its task."""
    if operation.status == OperationStatus.FAILED.value:
        raise ApiError(503, {"queue": [operation.error]}, operation=presenters.summary_json(operation))
    response = jsonify(presenters.summary_json(operation))
    response.headers["Location"] = url_for("api.get_operation", operation_id=operation.id)
    return response, 202


@bp.get("/setups/<int:setup_id>/operations")
@setup_required("setup.view")
def list_operations(setup_id: int):
    setup = load_setup(setup_id)
    page, size = page_number(), current_app.config["API_PAGE_SIZE"]
    db = get_session()
    total = db.scalar(select(func.count()).select_from(Operation).where(Operation.setup_id == setup.id)) or 0
    rows = db.scalars(select(Operation).where(Operation.setup_id == setup.id).order_by(Operation.id.desc())
                      .limit(size).offset((page - 1) * size)).all()
    return {"operations": [presenters.summary_json(op) for op in rows], "page": page,
            "pages": max(1, math.ceil(total / size)), "total": total}


@bp.get("/operations/<int:operation_id>/events")
@setup_required("setup.view", via="operation_id")
def operation_events(operation_id: int):
    """Return the operation's status, its stacks' states and its events with an id above ``after``."""
    operation = load_operation(operation_id)
    after = params.query_number("after", 0, 0, MAX_ID, f"Must be a whole number from 0 to {MAX_ID}: "
                                "the next_after of the previous answer.")
    events, next_after = service.events_after(get_session(), operation, after)
    return presenters.events_json(operation, events, next_after)


@bp.post("/operations/<int:operation_id>/apply")
@setup_required("setup.apply", via="operation_id")
def apply_plan(operation_id: int):
    """Apply a reviewed plan: 202 with the apply operation, 409 when the plan cannot be applied now."""
    plan = load_operation(operation_id)
    if plan.kind != OperationKind.PLAN.value:
        article = "an" if plan.kind == OperationKind.APPLY else "a"
        raise ApiError(409, {"plan": [f"Operation {plan.id} is {article} {plan.kind}, "
                                      "not a plan: only a plan can be applied."]})
    setup = load_setup(plan.setup_id)
    try:
        applied = service.request_apply(get_session(), setup, plan, g.api_user.username)
    except service.Refused as err:
        raise ApiError(409, {"plan": [str(err)]}) from err
    return accepted(applied)


@bp.post("/setups/<int:setup_id>/teardown")
@setup_required("setup.teardown")
def request_teardown(setup_id: int):
    """Delete the setup's stacks; the body confirms with the application name: {"confirmation": "orders-api"}."""
    setup = load_setup(setup_id)
    body = json_body()
    errors = {key: [UNKNOWN_FIELD] for key in sorted(body.keys() - {"confirmation"})}
    confirmation = body.get("confirmation", "")
    if not isinstance(confirmation, str):
        errors["confirmation"] = [NOT_A_STRING]
    if errors:
        raise ApiError(422, errors)
    try:
        operation = service.request_teardown(get_session(), setup, confirmation, g.api_user.username)
    except service.WrongConfirmation as err:
        raise ApiError(422, {"confirmation": [str(err)]}) from err
    except service.Refused as err:
        raise ApiError(409, {"status": [str(err)]}) from err
    return accepted(operation)


@bp.post("/operations/<int:operation_id>/cancel")
@setup_required("setup.apply", via="operation_id")
def cancel_operation(operation_id: int):
    """Cancel a pending operation, or a waiting one with no stack in flight: 200 with it, else 409."""
    operation = load_operation(operation_id)
    try:
        requests.cancel(get_session(), operation, g.api_user.username)
    except requests.NotCancellable as err:
        raise ApiError(409, {"status": [str(err)]}) from err
    return presenters.summary_json(operation)
