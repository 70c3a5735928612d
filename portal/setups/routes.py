"""Wizard views: each step saves a draft on Next, Back or a step tab, and the review asks the worker for a plan."""
from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core import lifecycle, stacks
from core.models import OperationStatus, Setup
from portal.db import get_session
from portal.deployments import service as deployment_service
from portal.deployments.preview import account_sharing
from portal.errors import error_response
from portal import memberships
from portal.access import setup_required, visible_setups, visible_teams
from portal.security import permission_required, rule
from portal.setups import bp, service
from portal.setups.defaults import with_defaults
from portal.setups.forms import (AccessForm, AccountsForm, ApplicationForm, NewSetupForm, access_form, tags_text,
                                 version_of)

log = logging.getLogger(__name__)

STEPS = (("accounts", "Accounts"), ("application", "Application"), ("access", "Access"), ("review", "Review"))
NEXT_STEP = {"accounts": "application", "application": "access", "access": "review"}
# Where Back and the step tabs may go: "goto" names the place; the setup list has no setup id.
PLACES = ("index",) + tuple(step for step, _ in STEPS)
UNSAVED = ("Your answers on this step are not saved yet: fix the ones marked below to save them and go on, "
           "or leave this step without saving them.")


def load_setup(setup_id: int) -> Setup:
    """:raise 404: no such setup"""
    setup = service.get_setup(get_session(), setup_id)
    if setup is None:
        abort(404)
    return setup


def step_url(setup: Setup, step: str) -> str:
    return url_for(f"setups.{step}", setup_id=setup.id)


def place_url(setup: Setup, place: str) -> str:
    """:raise 400: ``goto`` names no place of the wizard, or a step of a setup not saved yet"""
    if place == "index":
        return url_for("setups.index")
    if place not in PLACES or setup.id is None:
        message = (f"The wizard has no place called {place[:40]!r} to go to: go to one of its steps "
                   f"({', '.join(step for step, _ in STEPS)}) or back to the setups."
                   if place not in PLACES else "Save this step with Next first: the other steps need a saved setup.")
        abort(make_response(error_response(400, message)))
    return step_url(setup, place)


def comparable(data: Any) -> Any:
    """Form data as text, so a stored 128 and a posted "128" compare equal.

    Browsers send a textarea's lines ending in CR LF, and its text with the line break after the tag.
    """
    if isinstance(data, dict):
        return {key: comparable(value) for key, value in data.items() if key not in ("csrf_token", "version")}
    if isinstance(data, list):
        return [comparable(value) for value in data]
    return "" if data is None else str(data).replace("\r\n", "\n").strip()


def unchanged(form, pristine) -> bool:
    """Whether the posted step holds exactly what the page was shown with."""
    return comparable(form.data) == comparable(pristine.data)


def render_step(step: str, form, setup: Setup | None, status: int = 200, **context: Any):
    return render_template(f"setups/{step}.html", form=form, setup=setup, steps=STEPS, step=step, **context), status


def save_step(setup: Setup, form, step: str, values: Callable[[], dict[str, Any]], name_field: str,
              pristine=None, **context: Any):
    """Validate, save and move on (post → validate → commit → flash → redirect); else show why not.

    Back and the step tabs post the step too, naming where to go (``goto``): an untouched step just
    goes there; a changed one is saved first as a draft, or shown again with its typing kept.
    """
    action = "setup.create" if setup.id is None else "setup.update"
    session = get_session()
    goto = request.form.get("goto") if form.is_submitted() else None
    if goto is not None:
        leave_url = place_url(setup, goto)
        if pristine is not None and unchanged(form, pristine):
            return redirect(leave_url)
        context["leave_url"] = leave_url
    if not form.validate_on_submit():
        if form.is_submitted():
            service.record_refusal(session, action, setup, f"invalid {step} step", list(form.errors))
            return render_step(step, form, setup, 422, unsaved=UNSAVED if goto is not None else "", **context)
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
    if goto is not None:
        return redirect(place_url(setup, goto))
    if "leave" in request.form:
        return redirect(url_for("setups.index"))
    return redirect(step_url(setup, NEXT_STEP[step]))


@bp.get("/")
@rule("signed in")  # a list: it shows only what the user may see (portal.access.visible_setups)
def index():
    session = get_session()
    rows = [(setup, *deployment_service.state_of(session, setup))
            for setup in session.scalars(select(Setup).where(visible_setups()))]
    rows.sort(key=lambda row: (row[2], row[0].id), reverse=True)  # the most recent activity first
    # The pipeline link follows the one rule of "deployed", not the badge: a re-apply running or
    # failed leaves the pipeline in place.
    with_pipeline = set(lifecycle.deployed_setup_ids(session))
    team_names = {team.id: team.name for team in memberships.teams(session, visible_teams())}
    return render_template("setups/index.html", rows=rows, steps=dict(STEPS), with_pipeline=with_pipeline,
                           team_names=team_names)


def creatable_teams() -> list[tuple[int, str]]:
    """The teams the user may create setups in (an operator's; every team for an admin), by name."""
    return [(team.id, team.name) for team in memberships.teams(get_session(), current_user.teams_with("setup.edit"))]


@bp.route("/setups/new", methods=["GET", "POST"])
@permission_required("setup.edit")
def new():
    choices = creatable_teams()
    form = NewSetupForm(teams=choices)
    setup = service.new_setup(created_by_id=current_user.id, team_id=choices[0][0] if choices else 0)

    def values():
        setup.team_id = int(form.team_id.data)  # validated: one of ``choices``
        return form.values()

    return save_step(setup, form, "accounts", values, "build_account_id",
                     pristine=NewSetupForm(formdata=None, teams=choices), sharing=[])


@bp.route("/setups/<int:setup_id>/accounts", methods=["GET", "POST"])
@setup_required("setup.edit")
def accounts(setup_id: int):
    setup = load_setup(setup_id)
    data = {**service.document(setup), "version": str(setup.version)}
    form = AccountsForm(data=data)
    sharing = account_sharing(setup.build_account_id, setup.staging_account_id, setup.production_account_id)
    return save_step(setup, form, "accounts", form.values, "build_account_id",
                     pristine=AccountsForm(formdata=None, data=data), sharing=sharing)


@bp.route("/setups/<int:setup_id>/application", methods=["GET", "POST"])
@setup_required("setup.edit")
def application(setup_id: int):
    setup = load_setup(setup_id)
    doc = service.document(setup)
    parameters = with_defaults(doc["stage_parameters"], current_app.config["SAMPLE_APP_CONFIG_DIR"])
    data = {**doc, "tags": tags_text(doc["tags"]), "version": str(setup.version)}
    # Sub-forms read their initial values as attributes.
    data.update({stage: SimpleNamespace(**values) for stage, values in parameters.items()})
    form = ApplicationForm(data=data, build_account_id=doc["build_account_id"], region=doc["region"])
    return save_step(setup, form, "application", form.values, "name", pristine=ApplicationForm(formdata=None, data=data))


@bp.route("/setups/<int:setup_id>/access", methods=["GET", "POST"])
@setup_required("setup.edit")
def access(setup_id: int):
    setup = load_setup(setup_id)
    account_ids = setup.distinct_accounts()
    form: AccessForm = access_form(account_ids, setup.access, setup.version)
    pristine = access_form(account_ids, setup.access, setup.version, formdata=None)
    roles = {account: [role for role, acct in (("build", setup.build_account_id), ("staging", setup.staging_account_id),
                                               ("production", setup.production_account_id)) if acct == account]
             for account in account_ids}
    sharing = account_sharing(setup.build_account_id, setup.staging_account_id, setup.production_account_id)
    return save_step(setup, form, "access", lambda: {"access": form.values(account_ids)}, "version",
                     pristine=pristine, account_ids=account_ids, roles=roles, sharing=sharing,
                     deploy_stack=stacks.deploy_stack_name(setup.name or "APP"),
                     observer_role=stacks.observer_role_name(setup.name or "APP"))


@bp.post("/setups/<int:setup_id>/plan")
@setup_required("setup.plan")
def request_plan(setup_id: int):
    setup = load_setup(setup_id)
    session = get_session()
    try:
        operation = service.request_plan(session, setup, current_user.username)
    except service.NotReady as err:
        service.record_refusal(session, "setup.plan", setup, str(err))
        flash(str(err), "error")
        return redirect(step_url(setup, err.step))
    except service.PlanInProgress as err:
        flash(str(err), "error")
        return redirect(url_for("setups.deployments", setup_id=setup.id))
    if operation.status == OperationStatus.FAILED.value:
        flash(f"Plan #{operation.id} could not be requested. {operation.error}", "error")
    else:
        flash(f"Plan #{operation.id} requested: it is pending until a worker picks it up.", "success")
    # The plan is reviewed (and followed while it runs) on the setup's Deployments page.
    return redirect(url_for("setups.deployments", setup_id=setup.id))
