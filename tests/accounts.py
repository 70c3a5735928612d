"""The account ids every test area uses, in one place.

BUILD, STAGING and PRODUCTION are the emulator's demo accounts (emulator/demo.py). They are written
out here rather than imported, so that tests check the emulator against the documented ids.
"""
from __future__ import annotations

BUILD, STAGING, PRODUCTION = "111111111111", "222222222222", "333333333333"
# moto's account for credentials that assumed no role: the emulator's own "portal" identity.
DEFAULT_ACCOUNT = "123456789012"


def join_default_team(session, user_id: int, role: str) -> None:
    """Make the user a member of the default team (where every setup written without a team is) with ``role``:
    since teams (migration 0008) a role acts only in its team."""
    from sqlalchemy import select

    from core.models import DEFAULT_TEAM, Membership, Team

    session.add(Membership(team_id=session.scalar(select(Team.id).where(Team.name == DEFAULT_TEAM)), user_id=user_id,
                           role=role))
