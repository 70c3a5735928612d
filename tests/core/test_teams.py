"""core/teams.py: the rule of who may do what on which team's setups, and audit entries taking their setup's team."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.models import AuditEntry, Setup, Team
from core.teams import ADMIN_PERMISSIONS, TEAM_PERMISSIONS, Actor

pytestmark = pytest.mark.both_databases(False)


def test_a_team_role_holds_its_permissions_in_its_own_team_only():
    ann = Actor(id=1, username="ann", role="viewer", teams=((1, "operator"), (2, "viewer")))
    assert ann.may("setup.apply", 1) and not ann.may("setup.apply", 2) and not ann.may("setup.view", 3)
    assert ann.teams_with("setup.edit") == {1} and ann.teams_with("setup.view") == {1, 2}
    assert not ann.may("production.approve", 1) and not ann.may_somewhere("production.approve")


def test_admin_is_global_and_the_admin_permissions_are_nobody_elses():
    admin = Actor(id=1, username="root", role="admin")
    assert all(admin.may(p, 99) for p in [*TEAM_PERMISSIONS, *ADMIN_PERMISSIONS])
    assert admin.teams_with("setup.view") is None
    member = Actor(id=2, username="ann", role="operator", teams=((1, "operator"),))
    assert not any(member.may(p, 1) for p in ADMIN_PERMISSIONS)


def test_an_unknown_permission_is_an_error_not_a_refusal():
    with pytest.raises(KeyError):
        Actor(id=1, username="root", role="admin").may("setup.delete", 1)


@pytest.mark.both_databases
def test_an_audit_entry_about_a_setup_carries_its_team(db_session_factory):
    with session_scope(db_session_factory) as session:
        team = Team(name="beta")
        session.add(team)
        session.flush()
        setup = Setup(name="orders-api", team_id=team.id)
        plain = Setup(name="billing-api")  # written without a team: the default one
        session.add_all([setup, plain])
        session.flush()
        session.add_all([AuditEntry(actor="w", action="pipeline.release", target=f"setup:{setup.id}", outcome="success"),
                         AuditEntry(actor="w", action="x", target=f"setup {plain.id}", outcome="success"),
                         AuditEntry(actor="w", action="auth.login", target="w", outcome="success")])
        beta, default = team.id, session.scalar(select(Team.id).where(Team.name == "default"))
    with session_scope(db_session_factory) as session:
        assert session.scalars(select(AuditEntry.team_id).order_by(AuditEntry.id)).all() == [beta, default, None]
