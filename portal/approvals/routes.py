"""Approval views: the pipeline's approval link, the approval page, its live version and the decision."""
from __future__ import annotations

import logging

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from core import approvals, validation
from core.models import Decision, DecisionStatus, PipelineSnapshot, Setup, utcnow
from portal.approvals import bp, presenters, service
from portal.db import get_session
from portal.errors import error_response
from portal.pipelines import service as pipelines_service
from portal.pipelines.routes import load_pipeline
from portal.access import setup_required, visible_setups
from portal.security import can, rule

log = logging.getLogger(__name__)


def fail(code: int, message: str):
    abort(make_response(error_response(code, message)))


@bp.get("/approvals/<app>")
@rule("signed in")  # a list: it shows only what the user may see (portal.access.visible_setups)
def by_application(app: str):
    """The link the pipeline's approval action carries: the one deployed setup of ``app``, or a choice.

    ``?account=`` and ``?region=`` narrow it (application names are unique per build account and region).

    :raise 404: no deployed pipeline of that application
    """
    shown = validation.safe_text(app)[:40]
    try:
        validation.check_application_name(app)
    except validation.InvalidValue:
        fail(404, f"There is no deployed pipeline of application {shown!r}: that is no application name.")
    session = get_session()
    found = [setup for setup, _ in pipelines_service.deployed_setups(session, visible_setups()) if setup.name == app]
    account, region = request.args.get("account", ""), request.args.get("region", "")
    found = [s for s in found if (not account or s.build_account_id == account) and (not region or s.region == region)]
    if not found:
        fail(404, f"There is no deployed pipeline of application {shown!r}.")
    if len(found) == 1:
        return redirect(url_for("approvals.approval", setup_id=found[0].id))
    return render_template("approvals/choose.html", app=app, setups=found)


def _state(setup: Setup, snapshot: PipelineSnapshot | None):
    session = get_session()
    now = utcnow()
    approval = service.waiting_approval(snapshot)
    review = service.review_of(session, setup, approval["execution_id"], now) if approval else None
    decision = service.decision_for(session, setup.id, approval) if approval else None
    service.resend_if_lost(session, decision, now)
    votes = service.votes_for(session, setup.id, approval) if approval else []
    history = service.recent_decisions(session, setup.id)
    body = presenters.page_json(setup, snapshot, approval, review, decision, votes, history, now,
                                can("production.approve", setup.team_id), current_user.username)
    return body, presenters.version(snapshot, review, decision)


@bp.get("/pipelines/<int:setup_id>/approval")
@setup_required("setup.view")
def approval(setup_id: int):
    """The production approval: the execution waiting, the production change set, staging, the decision."""
    setup, snapshot = load_pipeline(setup_id)
    pipelines_service.record_interest(get_session(), setup, snapshot)
    body, version = _state(setup, snapshot)
    return render_template("approvals/approval.html", setup=setup, approval=body, version=version)


@bp.get("/pipelines/<int:setup_id>/approval/live")
@setup_required("setup.view")
def live(setup_id: int):
    """What the open page compares with its own version: it reloads itself when this changes."""
    setup, snapshot = load_pipeline(setup_id)
    pipelines_service.record_interest(get_session(), setup, snapshot)
    body, version = _state(setup, snapshot)
    return jsonify({"version": version, "decision": body["decision"], "waiting": body["waiting"] is not None,
                    "latest_execution": body["latest_execution"]})


@bp.post("/pipelines/<int:setup_id>/approval")
@setup_required("production.approve")
def decide(setup_id: int):
    """Approve or reject the waiting approval with a comment (required to reject).

    :raise 400: no such decision, no comment for a rejection, or a longer one than the summary holds
    """
    setup, snapshot = load_pipeline(setup_id)
    raw = request.form.get("decision", "")
    comment = (request.form.get("comment") or "").strip()
    if raw not in {d.value for d in Decision}:
        fail(400, "Choose approve or reject.")
    if len(comment) > approvals.COMMENT_MAX:
        fail(400, f"The comment is {len(comment)} characters long; at most {approvals.COMMENT_MAX} fit in the "
                  "summary sent to AWS.")
    if raw == Decision.REJECT.value and not comment:
        fail(400, "Say why you reject: a comment is required to reject.")
    seen = (request.form.get("execution_id") or "")[:100]
    back = redirect(url_for("approvals.approval", setup_id=setup.id))
    try:
        made = service.decide(get_session(), setup, snapshot, current_user.username, Decision(raw), comment, seen)
    except service.Refused as err:
        flash(f"Not sent: {err}", "error")
        return back
    if getattr(made, "status", None) == DecisionStatus.FAILED:
        flash(f"The decision could not be handed to a worker. {made.message}", "error")
    elif not hasattr(made, "decision"):
        flash("Your approval is recorded. This pipeline needs a second approver: the next approval by someone "
              "else sends it to AWS.", "success")
    else:
        flash(f"{'Approval' if raw == Decision.APPROVE else 'Rejection'} recorded (#{made.id}): the worker sends it to "
              "AWS, and this page shows AWS's answer.", "success")
    return back
