"""Wizard views: each step saves a draft on Next, and the review asks the worker for a plan."""
from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core.models import OperationStatus, Setup, SetupStatus
from portal.db import get_session
from portal.deployments.panel import setup_panel
from portal.security import permission_required
from portal.setups import bp, rules, service
from portal.setups.defaults import with_defaults
from portal.setups.forms import AccessForm, AccountsForm, ApplicationForm, PlanForm, access_form, tags_text, version_of
from portal.setups.plan import account_sharing, planned_stacks

log = logging.getLogger(__name__)

STEPS = (("accounts", "Accounts"), ("application", "Application"), ("access", "Access"), ("review", "Review"))
NEXT_STEP = {"accounts": "application", "application": "access", "access": "review"}


def load_setup(setup_id: int) -> Setup:
    """:raise 404: no such setup"""
    setup = service.get_setup(get_session(), setup_id)
    if setup is None:
        abort(404)
    return setup


def step_url(setup: Setup, step: str) -> str:
    return url_for(f"setups.{step}", setup_id=setup.id)


def render_step(step: str, form, setup: Setup | None, status: int = 200, **context: Any):
    return render_template(f"setups/{step}.html", form=form, setup=setup, steps=STEPS, step=step, **context), status


def save_step(setup: Setup, form, step: str, values: Callable[[], dict[str, Any]], name_field: str, **context: Any):
    """Validate, save and move on (post → validate → commit → flash → redirect); else show why not."""
    action = "setup.create" if setup.id is None else "setup.update"
    session = get_session()
    if not form.validate_on_submit():
        if form.is_submitted():
            service.record_refusal(session, action, setup, f"invalid {step} step", list(form.errors))
            return render_step(step, form, setup, 422, **context)
        return render_step(step, form, setup, **context)
    try:
        # A post without a readable version is treated as stale rather than allowed to overwrite.
        sent_version = None if setup.id is None else (version_of(form) or 0)
        service.save(session, setup, values(), action=action, sent_version=sent_version)
    except service.NameTaken as err:
        service.record_refusal(session, action, setup, str(err), [name_field])
        getattr(form, name_field).errors.append(str(err))
        return render_step(step, form, setup, 409, **context)
    except service.SetupConflict as err:
        service.record_refusal(session, action, setup, "version conflict", ["version"])
        return render_step(step, form, setup, 409, conflict=str(err), **context)
    flash(f"Saved the {step} step of {setup.name or 'the new setup'}.", "success")
    if "leave" in request.form:
        return redirect(url_for("setups.index"))
    return redirect(step_url(setup, NEXT_STEP[step]))


@bp.get("/")
@permission_required("setup.view")
def index():
    setups = get_session().scalars(select(Setup).order_by(Setup.updated_at.desc(), Setup.id.desc())).all()
    return render_template("setups/index.html", setups=setups, steps=dict(STEPS))


@bp.route("/setups/new", methods=["GET", "POST"])
@permission_required("setup.edit")
def new():
    form = AccountsForm()
    setup = service.new_setup(created_by_id=current_user.id)
    return save_step(setup, form, "accounts", form.values, "build_account_id", sharing=[])


@bp.route("/setups/<int:setup_id>/accounts", methods=["GET", "POST"])
@permission_required("setup.edit")
def accounts(setup_id: int):
    setup = load_setup(setup_id)
    form = AccountsForm(data={**service.document(setup), "version": str(setup.version)})
    sharing = account_sharing(setup.build_account_id, setup.staging_account_id, setup.production_account_id)
    return save_step(setup, form, "accounts", form.values, "build_account_id", sharing=sharing)


@bp.route("/setups/<int:setup_id>/application", methods=["GET", "POST"])
@permission_required("setup.edit")
def application(setup_id: int):
    setup = load_setup(setup_id)
    doc = service.document(setup)
    parameters = with_defaults(doc["stage_parameters"], current_app.config["SAMPLE_APP_CONFIG_DIR"])
    data = {**doc, "tags": tags_text(doc["tags"]), "version": str(setup.version)}
    # Sub-forms read their initial values as attributes.
    data.update({stage: SimpleNamespace(**values) for stage, values in parameters.items()})
    form = ApplicationForm(data=data, build_account_id=doc["build_account_id"], region=doc["region"])
    return save_step(setup, form, "application", form.values, "name")


@bp.route("/setups/<int:setup_id>/access", methods=["GET", "POST"])
@permission_required("setup.edit")
def access(setup_id: int):
    setup = load_setup(setup_id)
    account_ids = setup.distinct_accounts()
    form: AccessForm = access_form(account_ids, setup.access, setup.version)
    roles = {account: [role for role, acct in (("build", setup.build_account_id), ("staging", setup.staging_account_id),
                                               ("production", setup.production_account_id)) if acct == account]
             for account in account_ids}
    sharing = account_sharing(setup.build_account_id, setup.staging_account_id, setup.production_account_id)
    return save_step(setup, form, "access", lambda: {"access": form.values(account_ids)}, "version",
                     account_ids=account_ids, roles=roles, sharing=sharing)


@bp.get("/setups/<int:setup_id>")
@permission_required("setup.view")
def review(setup_id: int):
    setup = load_setup(setup_id)
    doc = service.document(setup)
    _, errors = rules.validate_document(doc)
    ready = setup.status == SetupStatus.READY.value and not errors
    stacks = planned_stacks(setup.name, setup.build_account_id, setup.staging_account_id,
                            setup.production_account_id, setup.access) if ready else []
    return render_template(
        "setups/review.html", setup=setup, doc=doc, steps=STEPS, step="review", ready=ready, stacks=stacks,
        sharing=account_sharing(setup.build_account_id, setup.staging_account_id, setup.production_account_id),
        operations=service.operations(get_session(), setup), form=PlanForm(),
        deployment=setup_panel(get_session(), setup),
    )


@bp.post("/setups/<int:setup_id>/plan")
@permission_required("setup.plan")
def request_plan(setup_id: int):
    setup = load_setup(setup_id)
    session = get_session()
    try:
        operation = service.request_plan(session, setup, current_user.username)
    except service.NotReady as err:
        service.record_refusal(session, "setup.plan", setup, str(err))
        flash(str(err), "error")
        return redirect(step_url(setup, err.step))
    if operation.status == OperationStatus.FAILED.value:
        flash(f"Plan #{operation.id} could not be requested. {operation.error}", "error")
    else:
        flash(f"Plan #{operation.id} requested: it is pending until a worker picks it up.", "success")
    return redirect(step_url(setup, "review"))
