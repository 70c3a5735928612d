"""A setup's own pages, under one small navigation: Overview, Pipeline, Deployments, Settings.

The overview says at a glance what is deployed, what runs and what waits for whom; Deployments holds
the plans, applies and teardowns; Settings the setup's fields and the way to edit them. The
Pipeline tab is the dashboard's page (portal/pipelines), linked only once a pipeline is deployed.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField

from core.models import SetupStatus, Team, utcnow
from core.lifecycle import Lifecycle
from portal.access import setup_required
from portal import memberships, params
from portal.db import get_by_id, get_session
from portal.errors import error_response
from portal.deployments.forms import PlanForm
from portal.deployments.panel import setup_panel
from portal.deployments.preview import account_sharing, planned_stacks
from portal.pipelines import service as pipeline_service
from portal.setups import bp, document_rules, overview, service
from portal.setups.routes import STEPS, load_setup


class TransferForm(FlaskForm):
    team_id = SelectField("Team", validate_choice=False)


def common(setup) -> dict[str, Any]:
    """What every tab shows: the setup, its fields, its state and whether it has a pipeline to link."""
    session = get_session()
    doc = service.document(setup)
    _, errors = document_rules.validate_document(doc)
    deployment = setup_panel(session, setup)
    return {"setup": setup, "doc": doc, "steps": STEPS, "step": "review",
            "ready": setup.status == SetupStatus.READY.value and not errors, "deployment": deployment,
            "has_pipeline": pipeline_service.is_deployed(session, setup),
            "sharing": account_sharing(setup.build_account_id, setup.staging_account_id,
                                       setup.production_account_id)}


def to_deploy(setup, ready: bool) -> list[dict[str, str]]:
    """The stacks a plan would create, in apply order; none while the setup is a draft."""
    return planned_stacks(setup.name, setup.build_account_id, setup.staging_account_id,
                          setup.production_account_id, setup.access) if ready else []


@bp.get("/setups/<int:setup_id>", endpoint="review")
@setup_required("setup.view")
def overview_page(setup_id: int):
    """The setup at a glance (the wizard's review step ends here, so a new setup is planned from it)."""
    setup = load_setup(setup_id)
    context = common(setup)
    state = context["deployment"]["state"]
    snapshot = pipeline_service.snapshot_of(get_session(), setup.id) if context["has_pipeline"] else None
    links = {"operation": lambda op_id: url_for("deployments.operation", setup_id=setup.id, operation_id=op_id),
             "pipeline": url_for("pipelines.pipeline", setup_id=setup.id),
             "deployments": url_for("setups.deployments", setup_id=setup.id),
             "step": url_for(f"setups.{setup.wizard_step}", setup_id=setup.id) if setup.wizard_step in dict(STEPS)
             else url_for("setups.settings", setup_id=setup.id)}
    # Until something is planned, the overview is the wizard's last step: what will be deployed, and the plan button.
    first_plan = state.lifecycle == Lifecycle.NOT_PLANNED
    return render_template(
        "setups/overview.html", tab="overview", form=PlanForm(), first_plan=first_plan,
        stacks=to_deploy(setup, context["ready"]) if first_plan else [],
        glance=overview.glance(setup, state, context["deployment"], snapshot, context["has_pipeline"], utcnow(),
                               links),
        **context)


@bp.get("/setups/<int:setup_id>/deployments")
@setup_required("setup.view")
def deployments(setup_id: int):
    """Plans, applies and teardowns: the plan to review, the latest change, every operation, tear down."""
    setup = load_setup(setup_id)
    context = common(setup)
    return render_template("setups/deployments.html", tab="deployments", form=PlanForm(),
                           stacks=to_deploy(setup, context["ready"]),
                           operations=service.operations(get_session(), setup), **context)


@bp.get("/setups/<int:setup_id>/settings")
@setup_required("setup.view")
def settings(setup_id: int):
    """The setup's fields as saved, its team, and (for editors) the wizard's steps to change them."""
    setup = load_setup(setup_id)
    return render_template("setups/settings.html", tab="settings", team=get_session().get(Team, setup.team_id),
                           transfer_form=transfer_form(setup), **common(setup))


def transfer_form(setup, formdata=None) -> TransferForm:
    form = TransferForm(formdata=formdata, data={"team_id": str(setup.team_id)})
    form.team_id.choices = [(str(team.id), team.name) for team in memberships.teams(get_session())]
    return form


@bp.post("/setups/<int:setup_id>/transfer")
@setup_required("setup.transfer")
def transfer(setup_id: int):
    """Move the setup to another team (admins only; audited under both teams)."""
    setup = load_setup(setup_id)
    form = transfer_form(setup, request.form)
    team = get_by_id(get_session(), Team, params.number_or_none(form.team_id.data or "") or 0)
    if not form.validate_on_submit() or team is None:
        abort(make_response(error_response(400, "Choose a team to move the setup to.")))
    if memberships.transfer(get_session(), setup, team):
        flash(f"{setup.name or 'The setup'} now belongs to team {team.name}.", "success")
    return redirect(url_for("setups.settings", setup_id=setup_id))
