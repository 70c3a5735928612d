"""Who may do what to which team's setups: the one home of the rule, for the portal and the worker.

``admin`` is a global role and holds every permission on every team's setups. Anyone else holds a
permission on a setup only through a membership of the setup's team, with a role there that holds it.
Someone who may not even see a setup must not learn it exists, so the portal answers 404 for it;
seen but not allowed is 403 (portal/access.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from core.models import Membership, Role, Setup, TeamRole, User

EVERY_TEAM_ROLE = frozenset(TeamRole)
OPERATORS = frozenset({TeamRole.OPERATOR})
# Permission -> the team roles holding it on that team's setups.
TEAM_PERMISSIONS: dict[str, frozenset[TeamRole]] = {
    "setup.view": EVERY_TEAM_ROLE,  # a setup, its deployments, its pipeline, its approval page
    "setup.edit": OPERATORS,  # create (in the team) and change a setup
    "setup.plan": OPERATORS,
    "setup.apply": OPERATORS,  # and cancel an operation
    "setup.teardown": OPERATORS,
    "pipeline.operate": OPERATORS,  # release, retry a stage, stop
    "production.approve": frozenset({TeamRole.APPROVER}),  # approve or reject production
    "audit.view": EVERY_TEAM_ROLE,  # the team's audit entries
}
# Held by admins only: they span teams.
ADMIN_PERMISSIONS = frozenset({"users.manage", "teams.manage", "setup.transfer"})
PERMISSIONS = frozenset(TEAM_PERMISSIONS) | ADMIN_PERMISSIONS


def check_permission(permission: str) -> str:
    """:raise KeyError: no such permission (a typo must not silently deny, or allow)"""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")
    return permission


@dataclass(frozen=True)
class Actor:
    """A user as one request sees them: their global role and their memberships, read at the request's start."""

    id: int
    username: str
    role: str
    teams: tuple[tuple[int, str], ...] = ()  # (team id, team role), by team id

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def role_in(self, team_id: int | None) -> str | None:
        return next((role for team, role in self.teams if team == team_id), None)

    def may(self, permission: str, team_id: int | None) -> bool:
        """Whether the user holds ``permission`` on the setups of team ``team_id``."""
        check_permission(permission)
        if self.is_admin:
            return True
        role = self.role_in(team_id)
        return role is not None and TeamRole(role) in TEAM_PERMISSIONS.get(permission, frozenset())

    def may_somewhere(self, permission: str) -> bool:
        """Whether some team (or being admin) gives the user ``permission``: what a page without a setup asks."""
        return self.is_admin or bool(self.teams_with(permission))

    def teams_with(self, permission: str) -> frozenset[int] | None:
        """The teams whose setups the user holds ``permission`` on; None means every team (an admin)."""
        check_permission(permission)
        if self.is_admin:
            return None
        holders = TEAM_PERMISSIONS.get(permission, frozenset())
        return frozenset(team for team, role in self.teams if TeamRole(role) in holders)

    def setups_where(self, permission: str = "setup.view", team_column=Setup.team_id) -> ColumnElement[bool]:
        """A WHERE clause keeping the rows of the teams the user holds ``permission`` on (every list uses it)."""
        teams = self.teams_with(permission)
        if teams is None:
            return true()
        return team_column.in_(sorted(teams)) if teams else false()


def memberships(session: Session, user_id: int) -> tuple[tuple[int, str], ...]:
    """The user's (team id, role) pairs as stored now."""
    rows = session.execute(select(Membership.team_id, Membership.role).where(Membership.user_id == user_id)
                           .order_by(Membership.team_id))
    return tuple((team, str(role)) for team, role in rows)


def actor_of(session: Session, user: User) -> Actor:
    return Actor(id=user.id, username=user.username, role=str(user.role), teams=memberships(session, user.id))


def may_approve(session: Session, username: str, team_id: int) -> bool:
    """Whether ``username`` may approve team ``team_id``'s production now (an active admin or approver of it).

    The two-person rule counts a first approval only while its approver still may approve.
    """
    user = session.scalar(select(User).where(User.username == username))
    return user is not None and user.is_active and actor_of(session, user).may("production.approve", team_id)
