"""Deployment views: an operation's page and live events, applying a plan, and tearing a setup down."""
from __future__ import annotations

import logging

from flask import abort, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from core.models import Operation, OperationKind, OperationStatus, Setup
from core.validation import MAX_ID
from portal import operation_requests as requests
from portal import params
from portal.access import setup_required
from portal.db import get_by_id, get_session
from portal.deployments import bp, presenters, service
from portal.deployments.forms import ApplyForm, PlanForm, TeardownForm
from portal.deployments.panel import plan_review
from portal.deployments.preview import planned_stacks
from portal.errors import error_response

log = logging.getLogger(__name__)

# Enough for every event of a setup's three stacks; a longer history continues through the live view.
PAGE_EVENTS = 2000


@bp.app_template_filter("cfn_tone")
def cfn_tone(status: str) -> str:
    return presenters.tone(status or "")


@bp.record_once
def register_template_globals(state) -> None:
    # Globals rather than a context processor: the macros in deployments/_macros.html are imported
    # without the page's context, and globals are what they can see.
    state.app.jinja_env.globals.update(
        action_labels=presenters.ACTIONS, role_labels=presenters.ROLES, phase_labels=presenters.PHASES,
        change_counts=presenters.change_counts, describe_counts=presenters.describe_counts,
        replacement=presenters.replacement,
        teardown_help=presenters.teardown_help,
    )


def load_setup(setup_id: int) -> Setup:
    """:raise 404: no such setup"""
    setup = get_by_id(get_session(), Setup, setup_id)
    if setup is None:
        abort(404)
    return setup


def load_operation(setup: Setup, operation_id: int, kind: str | None = None) -> Operation:
    """:raise 404: no such operation of this setup (of this kind)"""
    operation = service.get_operation(get_session(), setup.id, operation_id)
    if operation is None or (kind is not None and operation.kind != kind):
        abort(404)
    return operation


def operation_url(operation: Operation) -> str:
    return url_for("deployments.operation", setup_id=operation.setup_id, operation_id=operation.id)


@bp.get("/setups/<int:setup_id>/operations/<int:operation_id>")
@setup_required("setup.view")
def operation(setup_id: int, operation_id: int):
    """Show the operation; ``?events=oldest`` lists each stack's events oldest first (newest first by default).

    :raise 400: ``events`` names another order
    """
    setup = load_setup(setup_id)
    op = load_operation(setup, operation_id)
    order = request.args.get("events", presenters.EVENT_ORDERS[0])
    if order not in presenters.EVENT_ORDERS:
        orders = presenters.EVENT_ORDERS
        message = f"Stack events are listed {' or '.join(orders)} first: ?events={orders[1]}."
        abort(make_response(error_response(400, message)))
    session = get_session()
    events, next_after = service.events_after(session, op, 0, limit=PAGE_EVENTS)
    by_stack: dict[int, list] = {record.id: [] for record in op.stacks}
    for event in events:
        by_stack.setdefault(event.stack_record_id, []).append(event)
    is_plan = op.kind == OperationKind.PLAN.value
    return render_template(
        "deployments/operation.html", setup=setup, operation=op, next_after=next_after,
        events={stack: presenters.ordered(found, order) for stack, found in by_stack.items()}, events_order=order,
        terminal=presenters.is_terminal(op), result=presenters.result(op), root_cause=presenters.root_cause(op),
        handover=presenters.handover(op, setup, current_app.config["EMULATOR_URL"]), timeline=presenters.timeline(op),
        recreated=presenters.recreated_stacks(op), apply_form=ApplyForm(), plan_form=PlanForm(),
        left_in_other_regions=presenters.left_in_other_regions(op), stranded=presenters.stranded(op),
        **(plan_review(session, setup, op) if is_plan else {"plan_refusal": "", "applied_by": None}),
    )


@bp.get("/setups/<int:setup_id>/operations/<int:operation_id>/events")
@setup_required("setup.view")
def events(setup_id: int, operation_id: int):
    """Return the operation's status, its stacks' states and the events after ``after`` (JSON, for the live page)."""
    setup = load_setup(setup_id)
    op = load_operation(setup, operation_id)
    # The live page's script reads this answer, so a bad ?after= is JSON too.
    after = params.number_or_none(request.args.get("after", "0"), 0, MAX_ID)
    if after is None:
        return jsonify(errors={"after": ["Must be a whole number: the next_after of the previous answer."]}), 400
    found, next_after = service.events_after(get_session(), op, after)
    return jsonify(presenters.events_json(op, found, next_after))


@bp.post("/setups/<int:setup_id>/plans/<int:plan_id>/apply")
@setup_required("setup.apply")
def apply(setup_id: int, plan_id: int):
    """Apply the reviewed plan (post → check → commit → enqueue → redirect to its live page)."""
    setup = load_setup(setup_id)
    plan = load_operation(setup, plan_id, OperationKind.PLAN.value)
    # The form has no fields: CSRFProtect has checked its token before this view runs.
    try:
        applied = service.request_apply(get_session(), setup, plan, current_user.username)
    except service.Refused as err:
        flash(f"Plan #{plan_id} was not applied. {err}", "error")
        return redirect(url_for("setups.deployments", setup_id=setup.id))
    if applied.status == OperationStatus.FAILED.value:
        flash(f"Apply #{applied.id} could not be requested. {applied.error}", "error")
    else:
        flash(f"Apply #{applied.id} of plan #{plan_id} requested: the stacks' events appear below as they "
              "happen.", "success")
    return redirect(operation_url(applied))


@bp.post("/setups/<int:setup_id>/operations/<int:operation_id>/cancel")
@setup_required("setup.apply")
def cancel(setup_id: int, operation_id: int):
    """Cancel an operation that changes nothing in AWS: pending, or waiting for a self-launched stack."""
    setup = load_setup(setup_id)
    op = load_operation(setup, operation_id)
    try:
        requests.cancel(get_session(), op, current_user.username)
    except requests.NotCancellable as err:
        flash(str(err), "error")
    else:
        if op.started_at is None:
            flash(f"{op.kind.capitalize()} #{op.id} was cancelled before anything ran.", "success")
        else:
            flash(f"{op.kind.capitalize()} #{op.id} was cancelled: the portal no longer waits for the "
                  "self-launched stack. The stacks it finished stay as they are; plan again to see what is left.",
                  "success")
    return redirect(operation_url(op))


@bp.route("/setups/<int:setup_id>/teardown", methods=["GET", "POST"])
@setup_required("setup.teardown")
def teardown(setup_id: int):
    setup = load_setup(setup_id)
    session = get_session()
    form = TeardownForm()
    form.confirmation.label.text = f"Type {setup.name or 'the application name'} to confirm"
    refusal = service.teardown_refusal(session, setup)
    status = 200
    if form.validate_on_submit():
        try:
            op = service.request_teardown(session, setup, form.confirmation.data or "", current_user.username)
        except service.WrongConfirmation as err:
            form.confirmation.errors.append(str(err))
            status = 422
        except service.Refused as err:
            refusal, status = str(err), 409
        else:
            if op.status == OperationStatus.FAILED.value:
                flash(f"Teardown #{op.id} could not be requested. {op.error}", "error")
            else:
                flash(f"Teardown #{op.id} requested: the stacks are deleted, the build account's first.", "success")
            return redirect(operation_url(op))
    stacks = planned_stacks(setup.name, setup.build_account_id, setup.staging_account_id,
                            setup.production_account_id, setup.access) if service.is_complete(setup) else []
    return render_template("deployments/teardown.html", setup=setup, form=form, refusal=refusal,
                           stacks=stacks), status
