"""JSON API of teams and memberships: everyone reads their own teams; admins create, rename and delete teams
and manage members.

A membership changed here takes effect on the member's next request, with their sessions and API
tokens alike (portal/security.py reads memberships per request).
"""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, url_for

from core.models import Membership, Team, User
from core.times import iso
from core.validation import InvalidValue
from portal import memberships
from portal.access import team_required, visible_teams
from portal.api import bp
from portal.api.routes import ApiError, json_body
from portal.db import get_by_id, get_session
from portal.security import permission_required, rule
from portal.setups.document_rules import NOT_A_STRING, UNKNOWN_FIELD


def team_json(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name, "created_at": iso(team.created_at),
            "my_role": g.api_user.role_in(team.id)}


def member_json(row: Membership, user: User) -> dict[str, Any]:
    return {"user_id": user.id, "username": user.username, "role": str(row.role), "since": iso(row.created_at)}


def fields(allowed: set[str], required: set[str]) -> dict[str, Any]:
    """:raise ApiError: 422 for unknown fields and required ones missing or not strings"""
    body = json_body()
    errors = {key: [UNKNOWN_FIELD] for key in sorted(body.keys() - allowed)}
    for key in sorted(required):
        if key not in body:
            errors[key] = ["Required."]
        elif not isinstance(body[key], str):
            errors[key] = [NOT_A_STRING]
    if errors:
        raise ApiError(422, errors)
    return body


def checked(check, value: str, field: str) -> str:
    try:
        return check(value)
    except InvalidValue as err:
        raise ApiError(422, {field: err.messages}) from err


def load_member(team_id: int, user_id: int) -> tuple[Team, Membership, User]:
    session = get_session()
    team, user = session.get(Team, team_id), get_by_id(session, User, user_id)
    row = memberships.membership(session, team_id, user_id) if user is not None else None
    if row is None:
        raise ApiError(404, {"member": [f"User {user_id} is no member of team {team_id}."]})
    return team, row, user


@bp.get("/teams")
@rule("signed in")  # a list: it shows only what the user may see (portal.access.visible_setups)
def list_teams():
    """Your teams with your role in each; an admin gets every team."""
    return {"teams": [team_json(team) for team in memberships.teams(get_session(), visible_teams())]}


@bp.post("/teams")
@permission_required("teams.manage")
def create_team():
    body = fields({"name"}, {"name"})
    name = checked(memberships.check_team_name, body["name"], "name")
    try:
        team = memberships.create_team(get_session(), name, g.api_user.id)
    except memberships.Conflict as err:
        raise ApiError(409, {"name": [str(err)]}) from err
    response = jsonify(team_json(team))
    response.headers["Location"] = url_for("api.get_team", team_id=team.id)
    return response, 201


@bp.get("/teams/<int:team_id>")
@team_required()
def get_team(team_id: int):
    return team_json(get_session().get(Team, team_id))


@bp.patch("/teams/<int:team_id>")
@team_required("teams.manage")
def rename_team(team_id: int):
    """Rename the team: ``{"name": "payments"}``; the default team keeps its name."""
    body = fields({"name"}, {"name"})
    name = checked(memberships.check_team_name, body["name"], "name")
    team = get_session().get(Team, team_id)
    try:
        memberships.rename_team(get_session(), team, name)
    except memberships.Conflict as err:
        raise ApiError(409, {"name": [str(err)]}) from err
    return team_json(team)


@bp.delete("/teams/<int:team_id>")
@team_required("teams.manage")
def delete_team(team_id: int):
    """Delete an empty team and its memberships; not the default team, nor one that owns setups."""
    try:
        memberships.delete_team(get_session(), get_session().get(Team, team_id))
    except memberships.Conflict as err:
        raise ApiError(409, {"team": [str(err)]}) from err
    return "", 204


@bp.get("/teams/<int:team_id>/members")
@team_required()
def list_members(team_id: int):
    return {"members": [member_json(row, user) for row, user in memberships.members(get_session(), team_id)]}


@bp.post("/teams/<int:team_id>/members")
@team_required("teams.manage")
def add_member(team_id: int):
    """Add a user to the team: ``{"username": "ann", "role": "operator"|"approver"|"viewer"}``."""
    body = fields({"username", "role"}, {"username", "role"})
    role = checked(memberships.check_team_role, body["role"], "role")
    session = get_session()
    user = session.scalar(memberships.user_named(body["username"]))
    if user is None:
        raise ApiError(422, {"username": [f"There is no user {body['username'][:64]!r}."]})
    try:
        row = memberships.add_member(session, session.get(Team, team_id), user, role)
    except memberships.Conflict as err:
        raise ApiError(409, {"username": [str(err)]}) from err
    return member_json(row, user), 201


@bp.patch("/teams/<int:team_id>/members/<int:user_id>")
@team_required("teams.manage")
def change_member(team_id: int, user_id: int):
    """Change a member's role in the team: ``{"role": "approver"}``."""
    team, row, user = load_member(team_id, user_id)
    body = fields({"role"}, {"role"})
    memberships.set_role(get_session(), team, row, user, checked(memberships.check_team_role, body["role"], "role"))
    return member_json(row, user)


@bp.delete("/teams/<int:team_id>/members/<int:user_id>")
@team_required("teams.manage")
def remove_member(team_id: int, user_id: int):
    """Remove a member: their next request, by session or token, no longer reaches the team's setups."""
    team, row, user = load_member(team_id, user_id)
    memberships.remove_member(get_session(), team, row, user)
    return "", 204
