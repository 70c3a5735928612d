"""Admin views: create users, change roles, (de)activate, sign users out, read the audit log."""
from __future__ import annotations

import logging
import math

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from core.models import AuditEntry, Role, Team, User
from portal import accounts, audit, memberships, params, sessions
from portal.access import visible_teams
from portal.admin import bp
from portal.admin.forms import EditUserForm, NewUserForm, shown_access, stored_role
from portal.db import get_by_id, get_session
from portal.security import permission_required

log = logging.getLogger(__name__)

AUDIT_PAGE_SIZE = 50


@bp.app_template_global()
def my_team_roles() -> list[tuple[str, str]]:
    """The signed-in user's (team name, role) pairs, for the header (a non-admin's global role grants none)."""
    if not current_user.is_authenticated or not current_user.teams:
        return []
    names = dict(get_session().execute(select(Team.id, Team.name).where(
        Team.id.in_([team for team, _ in current_user.teams]))).all())
    return sorted((names[team], role) for team, role in current_user.teams if team in names)


def render_users(form: NewUserForm, status: int = 200):
    db = get_session()
    rows = db.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=rows, form=form,
                           team_roles=memberships.roles_by_user(db)), status


@bp.get("/users")
@permission_required("users.manage")
def users():
    return render_users(NewUserForm(formdata=None))


@bp.post("/users")
@permission_required("users.manage")
def create_user():
    form = NewUserForm()
    db = get_session()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(db, form.username.data, form.password.data,
                                        stored_role(form.role.data))
        except accounts.UsernameTaken as err:
            form.username.errors.append(str(err))
        else:
            audit.record("user.create", audit.SUCCESS, target=user.username, detail={"role": user.role})
            db.commit()
            if user.role == Role.ADMIN:
                flash(f"User {user.username} is created as an admin.", "success")
            else:
                flash(f"User {user.username} is created; they see no setup until you add them to a team.",
                      "success")
            return redirect(url_for("admin.users"))
    db.rollback()
    audit.record("user.create", audit.FAILED, target=form.username.data or "",
                 detail={"fields": sorted(form.errors)})
    db.commit()
    return render_users(form, 422)


def find_user(user_id: int) -> User:
    """Return the user with this id.

    :raise 404: there is none
    """
    user = get_by_id(get_session(), User, user_id)
    if user is None:
        abort(404)
    return user


def render_user(user: User, form: EditUserForm):
    db = get_session()
    teams = memberships.roles_by_user(db, [user.id]).get(user.id, [])
    return render_template("admin/user.html", user=user, form=form, teams=teams,
                           live_sessions=sessions.count_live(db, user.id))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("users.manage")
def edit_user(user_id: int):
    db = get_session()
    user = find_user(user_id)
    form = EditUserForm(data={"role": shown_access(user.role), "is_active": user.is_active})
    if not form.validate_on_submit():
        return render_user(user, form), 422 if form.is_submitted() else 200
    if user.id == current_user.id and (form.role.data != Role.ADMIN.value or not form.is_active.data):
        # An admin who demotes or locks out themselves could leave the portal with no admin at all.
        audit.record("user.update", audit.FAILED, target=user.username, message="admins cannot demote themselves")
        db.commit()
        form.role.errors.append("You cannot remove your own admin role or deactivate yourself; ask another admin.")
        return render_user(user, form), 422
    before = {"role": user.role, "is_active": user.is_active}
    user.role, user.is_active = stored_role(form.role.data, str(user.role)), form.is_active.data
    if not user.is_active:
        # Ended now, not only refused while inactive: reactivation must not bring old cookies back.
        sessions.end_all(db, user.id)
    audit.record("user.update", audit.SUCCESS, target=user.username,
                 detail={"before": before, "after": {"role": user.role, "is_active": user.is_active}})
    db.commit()
    flash(f"User {user.username} is saved.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/sign-out")
@permission_required("users.manage")
def sign_out_everywhere(user_id: int):
    """End every session of the user (a lost laptop, a shared screen); their API tokens are left alone."""
    db = get_session()
    user = find_user(user_id)
    ended = sessions.end_all(db, user.id)
    audit.record("user.sign_out", audit.SUCCESS, target=user.username, detail={"sessions": ended})
    db.commit()
    flash(f"User {user.username} is signed out everywhere ({ended} sessions ended).", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.get("/audit")
@permission_required("audit.view")
def audit_log():
    db = get_session()
    actor = request.args.get("actor", "").strip()
    action = request.args.get("action", "").strip()
    # A page number that is not one shows the first page, as the pager's links never send one.
    page = params.number_or_none(request.args.get("page", "1"), 1, 10**6 - 1) or 1
    teams = visible_teams()
    team = params.number_or_none(request.args.get("team", ""), 1, 10**12)
    # An admin reads every entry; a member their teams' entries only (and none about no setup or team).
    query = select(AuditEntry) if teams is None else select(AuditEntry).where(AuditEntry.team_id.in_(sorted(teams)))
    if team is not None:
        query = query.where(AuditEntry.team_id == team)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = db.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(AUDIT_PAGE_SIZE)
        .offset((page - 1) * AUDIT_PAGE_SIZE)
    ).all()
    actions_query = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    if teams is not None:
        actions_query = actions_query.where(AuditEntry.team_id.in_(sorted(teams)))
    actions = db.scalars(actions_query).all()
    team_names = {t.id: t.name for t in memberships.teams(db, teams)}
    return render_template("admin/audit.html", entries=entries, actor=actor, action=action, actions=actions,
                           team=team, team_names=team_names, page=page,
                           pages=max(1, math.ceil(total / AUDIT_PAGE_SIZE)), total=total)
