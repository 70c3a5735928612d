"""Admin views of teams: create, rename and delete teams; add members, change their roles, remove them.

Each change is audited (portal/memberships.py).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import ValidationError

from core.models import DEFAULT_TEAM, Membership, Role, Team, User
from core.validation import InvalidValue
from portal import memberships
from portal.admin import bp
from portal.db import get_by_id, get_session
from portal.security import permission_required

ROLE_CHOICES = [SelectChoice(role, role.capitalize()) for role in memberships.TEAM_ROLES]


def _rule(check, value):
    try:
        check(value)
    except InvalidValue as err:
        raise ValidationError(err.messages[0]) from err


class TeamForm(FlaskForm):
    name = StringField("Team name", filters=[lambda value: value.strip() if value else value])

    def validate_name(self, field):
        _rule(memberships.check_team_name, field.data or "")


class MemberForm(FlaskForm):
    username = SelectField("User", validate_choice=False)
    role = SelectField("Role in the team", choices=ROLE_CHOICES, default="viewer", validate_choice=False)

    def validate_role(self, field):
        _rule(memberships.check_team_role, field.data or "")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)

    def validate_role(self, field):
        _rule(memberships.check_team_role, field.data or "")


def find_team(team_id: int) -> Team:
    """:raise 404: no such team"""
    team = get_by_id(get_session(), Team, team_id)
    if team is None:
        abort(404)
    return team


def find_member(team: Team, user_id: int) -> tuple[Membership, User]:
    """:raise 404: the user is no member of the team"""
    user = get_by_id(get_session(), User, user_id)
    row = memberships.membership(get_session(), team.id, user.id) if user is not None else None
    if row is None:
        abort(404)
    return row, user


def render_teams(form: TeamForm, status: int = 200):
    return render_template("admin/teams.html", teams=memberships.teams(get_session()), form=form), status


def render_team(team: Team, form: MemberForm | None = None, status: int = 200,
                rename: TeamForm | None = None):
    session = get_session()
    members = memberships.members(session, team.id)
    in_team = {user.id for _, user in members}
    candidates = [u for u in session.scalars(select(User).where(User.role != Role.ADMIN.value).order_by(User.username))
                  if u.id not in in_team]
    form = form or MemberForm(formdata=None)
    form.username.choices = [SelectChoice(u.username, u.username) for u in candidates]
    rename = rename or TeamForm(formdata=None, data={"name": team.name})
    return render_template("admin/team.html", team=team, members=members, form=form, role_form=RoleForm,
                           has_candidates=bool(candidates), rename=rename,
                           is_default=team.name == DEFAULT_TEAM,
                           setups=memberships.setup_count(session, team.id)), status


@bp.get("/teams")
@permission_required("teams.manage")
def teams():
    return render_teams(TeamForm(formdata=None))


@bp.post("/teams")
@permission_required("teams.manage")
def create_team():
    form = TeamForm()
    if not form.validate_on_submit():
        return render_teams(form, 422)
    try:
        team = memberships.create_team(get_session(), form.name.data, current_user.id)
    except memberships.Conflict as err:
        form.name.errors.append(str(err))
        return render_teams(form, 409)
    flash(f"Team {team.name} is created: add its members.", "success")
    return redirect(url_for("admin.team", team_id=team.id))


@bp.get("/teams/<int:team_id>")
@permission_required("teams.manage")
def team(team_id: int):
    return render_team(find_team(team_id))


@bp.post("/teams/<int:team_id>/rename")
@permission_required("teams.manage")
def rename_team(team_id: int):
    team = find_team(team_id)
    form = TeamForm()
    if not form.validate_on_submit():
        return render_team(team, rename=form, status=422)
    before = team.name
    try:
        renamed = memberships.rename_team(get_session(), team, form.name.data)
    except memberships.Conflict as err:
        form.name.errors.append(str(err))
        return render_team(find_team(team_id), rename=form, status=409)
    if renamed:
        flash(f"Team {before} is now called {team.name}.", "success")
    return redirect(url_for("admin.team", team_id=team.id))


@bp.post("/teams/<int:team_id>/delete")
@permission_required("teams.manage")
def delete_team(team_id: int):
    team = find_team(team_id)
    if not FlaskForm(formdata=request.form).validate_on_submit():
        return redirect(url_for("admin.team", team_id=team.id))
    name = team.name
    try:
        memberships.delete_team(get_session(), team)
    except memberships.Conflict as err:
        flash(str(err), "error")
        return render_team(find_team(team_id), status=409)
    flash(f"Team {name} is deleted; its members lost their role in it.", "success")
    return redirect(url_for("admin.teams"))


@bp.post("/teams/<int:team_id>/members")
@permission_required("teams.manage")
def add_member(team_id: int):
    team = find_team(team_id)
    form = MemberForm()
    if not form.validate_on_submit():
        return render_team(team, form, 422)
    session = get_session()
    user = session.scalar(memberships.user_named(form.username.data or ""))
    if user is None:
        form.username.errors.append("There is no such user.")
        return render_team(team, form, 422)
    try:
        memberships.add_member(session, team, user, form.role.data)
    except memberships.Conflict as err:
        form.username.errors.append(str(err))
        return render_team(team, form, 409)
    flash(f"{user.username} is now {form.role.data} in {team.name}.", "success")
    return redirect(url_for("admin.team", team_id=team.id))


@bp.post("/teams/<int:team_id>/members/<int:user_id>")
@permission_required("teams.manage")
def change_member(team_id: int, user_id: int):
    team = find_team(team_id)
    row, user = find_member(team, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose operator, approver or viewer.", "error")
        return redirect(url_for("admin.team", team_id=team.id))
    memberships.set_role(get_session(), team, row, user, form.role.data)
    flash(f"{user.username} is now {form.role.data} in {team.name}.", "success")
    return redirect(url_for("admin.team", team_id=team.id))


@bp.post("/teams/<int:team_id>/members/<int:user_id>/remove")
@permission_required("teams.manage")
def remove_member(team_id: int, user_id: int):
    team = find_team(team_id)
    row, user = find_member(team, user_id)
    if FlaskForm(formdata=request.form).validate_on_submit():
        memberships.remove_member(get_session(), team, row, user)
        flash(f"{user.username} is no longer in {team.name}: their next request no longer reaches its setups.",
              "success")
    return redirect(url_for("admin.team", team_id=team.id))
