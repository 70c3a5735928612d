"""Teams and their members, and moving a setup to another team: the steps the admin pages and the API share.

Each change is audited under the team it changes, so that team's members see it; the caller commits
nothing, these functions commit. A membership takes effect on the member's next request (sessions and
API tokens read memberships per request: portal/security.py).
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import Membership, Role, Setup, Team, TeamRole, User
from core.validation import InvalidValue
from portal import audit

log = logging.getLogger(__name__)

TEAM_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?")
TEAM_ROLES = tuple(role.value for role in TeamRole)


class Conflict(Exception):
    """The change contradicts what is stored (a taken name, a member twice, an admin as a member)."""


def check_team_name(value: str) -> str:
    if not isinstance(value, str) or not TEAM_NAME.fullmatch(value):
        raise InvalidValue("Use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting and ending with a "
                           "letter or digit.")
    return value


def check_team_role(value: str) -> str:
    if value not in TEAM_ROLES:
        raise InvalidValue("Choose operator, approver or viewer (admin is a global role, not a team's).")
    return value


def teams(session: Session, only: frozenset[int] | None = None) -> list[Team]:
    """Every team by name, or only those with an id in ``only``."""
    query = select(Team).order_by(Team.name)
    if only is not None:
        query = query.where(Team.id.in_(sorted(only)))
    return list(session.scalars(query))


def members(session: Session, team_id: int) -> list[tuple[Membership, User]]:
    return list(session.execute(select(Membership, User).join(User, User.id == Membership.user_id)
                                .where(Membership.team_id == team_id).order_by(User.username)).tuples())


def user_named(username: str):
    return select(User).where(User.username == username)


def membership(session: Session, team_id: int, user_id: int) -> Membership | None:
    return session.scalar(select(Membership).where(Membership.team_id == team_id, Membership.user_id == user_id))


def create_team(session: Session, name: str, created_by_id: int | None) -> Team:
    """:raise InvalidValue: a bad name  :raise Conflict: the name is taken"""
    check_team_name(name)
    team = Team(name=name, created_by_id=created_by_id)
    session.add(team)
    try:
        session.flush()
    except IntegrityError as err:
        session.rollback()
        raise Conflict(f"A team called {name} exists already.") from err
    audit.record("team.create", audit.SUCCESS, target=f"team {team.id}", detail={"name": name}, team_id=team.id)
    session.commit()
    return team


def add_member(session: Session, team: Team, user: User, role: str) -> Membership:
    """:raise InvalidValue: no such team role  :raise Conflict: an admin, or already a member"""
    check_team_role(role)
    if user.role == Role.ADMIN:
        raise Conflict(f"{user.username} is an admin: admins act in every team, they are no team's members.")
    if membership(session, team.id, user.id) is not None:
        raise Conflict(f"{user.username} is a member of {team.name} already; change their role instead.")
    row = Membership(team_id=team.id, user_id=user.id, role=role)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as err:  # the same member added twice at once
        session.rollback()
        raise Conflict(f"{user.username} is a member of {team.name} already; change their role instead.") from err
    audit.record("team.member_add", audit.SUCCESS, target=f"team {team.id}", team_id=team.id,
                 detail={"user": user.username, "role": role})
    session.commit()
    return row


def set_role(session: Session, team: Team, row: Membership, user: User, role: str) -> None:
    """:raise InvalidValue: no such team role"""
    check_team_role(role)
    before = str(row.role)
    row.role = role
    audit.record("team.member_role", audit.SUCCESS, target=f"team {team.id}", team_id=team.id,
                 detail={"user": user.username, "before": before, "after": role})
    session.commit()


def remove_member(session: Session, team: Team, row: Membership, user: User) -> None:
    session.delete(row)
    audit.record("team.member_remove", audit.SUCCESS, target=f"team {team.id}", team_id=team.id,
                 detail={"user": user.username, "role": str(row.role)})
    session.commit()


def transfer(session: Session, setup: Setup, team: Team) -> bool:
    """Move the setup to ``team``; audited under both teams, so each side's members see it go or come.

    :return: whether it moved (False: it is in that team already)
    """
    before = setup.team_id
    if before == team.id:
        return False
    setup.team_id = team.id
    detail = {"from_team": before, "to_team": team.id, "to_team_name": team.name}
    for side in (before, team.id):
        audit.record("setup.transfer", audit.SUCCESS, target=f"setup {setup.id}", team_id=side, detail=detail)
    session.commit()
    log.info("Setup %s moved from team %s to team %s", setup.id, before, team.id)
    return True
