"""Teams and memberships: who belongs to which team, with which role there.

A user may belong to several teams with one role in each; ``admin`` is not a team role, it is the
user's global role (core/models/accounts.py). Every setup belongs to one team (``Setup.team_id``).
What each role may do is core/teams.py's.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_type, utcnow

# Made by migration 0008 (it holds the setups made before teams existed); a setup saved without a
# team lands here, so rows written by code that predates teams still have one.
DEFAULT_TEAM = "default"


class TeamRole(enum.StrEnum):
    OPERATOR = "operator"  # creates and changes the team's setups, runs their pipelines
    APPROVER = "approver"  # approves the team's production deployments
    VIEWER = "viewer"  # reads the team's setups and pipelines


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class Membership(Base):
    """One user in one team, with their role there."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_memberships_one_per_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[TeamRole] = mapped_column(enum_type(TeamRole, 16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
