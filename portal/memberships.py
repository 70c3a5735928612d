"""Teams and their members, and moving a setup to another team: the steps the admin pages and the API share.

Each change is audited under the team it changes, so that team's members see it; the caller commits
nothing, these functions commit. A membership takes effect on the member's next request (sessions and
API tokens read memberships per request: portal/security.py).
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import DEFAULT_TEAM, AuditEntry, Membership, Role, Setup, Team, TeamRole, User
from core.validation import InvalidValue
from portal import audit

log = logging.getLogger(__name__)

TEAM_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?")
TEAM_ROLES = tuple(role.value for role in TeamRole)
# Setups saved without a team land in the team of this name (core/models/setups.py).
KEEPS_NAME = f"The team {DEFAULT_TEAM} keeps its name: setups saved without a team land in it."
NOT_DELETED = f"The team {DEFAULT_TEAM} cannot be deleted: setups saved without a team land in it."


class Conflict(Exception):
    """The change contradicts what is stored (a taken name, a member twice, an admin as a member, a team
    that still owns setups, the default team)."""


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
                                .where(Membership.team_id == team_id).order_by(User.username)))


def roles_by_user(session: Session, user_ids: list[int] | None = None) -> dict[int, list[tuple[Team, str]]]:
    """Each user's (team, role) pairs by team name, for every user or those of ``user_ids``.

    What a non-admin may do comes from these alone: their global role says only that they are no admin.
    """
    query = (select(Membership.user_id, Team, Membership.role).join(Team, Team.id == Membership.team_id)
             .order_by(Team.name))
    if user_ids is not None:
        query = query.where(Membership.user_id.in_(user_ids))
    found: dict[int, list[tuple[Team, str]]] = {}
    for user_id, team, role in session.execute(query):
        found.setdefault(user_id, []).append((team, str(role)))
    return found


def user_named(username: str):
    return select(User).where(User.username == username)


def membership(session: Session, team_id: int, user_id: int) -> Membership | None:
    return session.scalar(select(Membership).where(Membership.team_id == team_id, Membership.user_id == user_id))


def unused_team_id(session: Session) -> int | None:
    """On SQLite, an id no team has ever had; None elsewhere (a PostgreSQL sequence never repeats one).

    SQLite gives a new row the highest id plus one, so a team made after the newest one was deleted would
    take its id, and with it the deleted team's audit entries (``AuditEntry.team_id`` is a plain id).
    Every team's creation is audited under its id, so the log knows every id ever used.
    """
    if session.get_bind().dialect.name != "sqlite":
        return None
    used = session.scalar(select(func.max(AuditEntry.team_id))) or 0
    return max(used, session.scalar(select(func.max(Team.id))) or 0) + 1


def create_team(session: Session, name: str, created_by_id: int | None) -> Team:
    """:raise InvalidValue: a bad name  :raise Conflict: the name is taken"""
    check_team_name(name)
    team = Team(id=unused_team_id(session), name=name, created_by_id=created_by_id)
    session.add(team)
    try:
        session.flush()
    except IntegrityError as err:
        session.rollback()
        raise Conflict(f"A team called {name} exists already.") from err
    audit.record("team.create", audit.SUCCESS, target=f"team {team.id}", detail={"name": name}, team_id=team.id,
                 message=f"Team {name} created.")
    session.commit()
    return team


def rename_team(session: Session, team: Team, name: str) -> bool:
    """:raise InvalidValue: a bad name  :raise Conflict: the name is taken, or the team is the default one

    :return: whether the name changed
    """
    check_team_name(name)
    before = team.name
    if name == before:
        return False
    if before == DEFAULT_TEAM:
        raise Conflict(KEEPS_NAME)
    team.name = name
    try:
        session.flush()
    except IntegrityError as err:
        session.rollback()
        raise Conflict(f"A team called {name} exists already.") from err
    audit.record("team.rename", audit.SUCCESS, target=f"team {team.id}", team_id=team.id,
                 detail={"before": before, "after": name}, message=f"Team {before} is now called {name}.")
    session.commit()
    return True


def setup_count(session: Session, team_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Setup).where(Setup.team_id == team_id)) or 0


def delete_team(session: Session, team: Team) -> None:
    """Delete an empty team; its memberships go with it.

    :raise Conflict: the team is the default one, or it owns setups (move them to another team first)
    """
    if team.name == DEFAULT_TEAM:
        raise Conflict(NOT_DELETED)
    owned = setup_count(session, team.id)
    if owned:
        raise Conflict(f"{team.name} owns {owned} {'setup' if owned == 1 else 'setups'}: move "
                       f"{'it' if owned == 1 else 'them'} to another team first.")
    gone = [user.username for _, user in members(session, team.id)]
    # ON DELETE CASCADE would remove them too; deleting them here keeps this session's view of them true.
    session.execute(delete(Membership).where(Membership.team_id == team.id))
    session.delete(team)
    try:
        session.flush()
    except IntegrityError as err:  # a setup moved into it meanwhile
        session.rollback()
        raise Conflict(f"{team.name} owns setups now: move them to another team first.") from err
    # The message keeps the name: once the team is gone, the log's "team N" names nothing.
    audit.record("team.delete", audit.SUCCESS, target=f"team {team.id}", team_id=team.id,
                 detail={"name": team.name, "members": gone},
                 message=f"Team {team.name} deleted with {len(gone)} "
                         f"{'membership' if len(gone) == 1 else 'memberships'}"
                         + (f" ({', '.join(gone)})." if gone else "."))
    session.commit()
    log.info("Team %s (%s) deleted with %s memberships", team.id, team.name, len(gone))


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
                 detail={"user": user.username, "role": role},
                 message=f"{user.username} joined {team.name} as {role}.")
    session.commit()
    return row


def set_role(session: Session, team: Team, row: Membership, user: User, role: str) -> None:
    """:raise InvalidValue: no such team role"""
    check_team_role(role)
    before = str(row.role)
    row.role = role
    audit.record("team.member_role", audit.SUCCESS, target=f"team {team.id}", team_id=team.id,
                 detail={"user": user.username, "before": before, "after": role},
                 message=f"{user.username} is now {role} in {team.name} (was {before}).")
    session.commit()


def remove_member(session: Session, team: Team, row: Membership, user: User) -> None:
    session.delete(row)
    audit.record("team.member_remove", audit.SUCCESS, target=f"team {team.id}", team_id=team.id,
                 detail={"user": user.username, "role": str(row.role)},
                 message=f"{user.username} ({row.role}) left {team.name}.")
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
