"""Migration 0008 moves a portal that had no teams into the default team, on SQLite and PostgreSQL, with data in it."""
from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from core.db import alembic_config, make_engine, upgrade

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def seed_before_teams(url: str) -> None:
    """Users of every role, two setups and audit entries, as revision 0007 stored them."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for name, role, active in (("carol", "operator", True), ("root", "admin", True), ("second", "admin", True),
                                   ("vera", "viewer", True), ("abe", "approver", False)):
            conn.execute(text("INSERT INTO users (username, password_hash, role, is_active, created_at, failed_logins) "
                              "VALUES (:n, 'x', :r, :a, :t, 0)"), {"n": name, "r": role, "a": active, "t": NOW})
        for name in ("orders-api", "billing-api"):
            conn.execute(text(
                "INSERT INTO setups (name, branch, source_provider, connection_arn, full_repository_id, approval_email,"
                " tags, stage_parameters, access, two_person_approval, wizard_step, status, created_at, updated_at,"
                " version) VALUES (:n, 'main', 'CodeCommit', '', '', '', '{}', '{}', '{}', false, 'accounts', 'draft',"
                " :t, :t, 1)"), {"n": name, "t": NOW})
        for target in ("setup 1", "setup:2", "root", "new setup"):
            conn.execute(text("INSERT INTO audit_entries (at, actor, action, target, outcome, detail, remote_addr,"
                              " message) VALUES (:t, 'carol', 'x', :target, 'success', '{}', '', '')"),
                         {"t": NOW, "target": target})
    engine.dispose()


def test_existing_setups_users_and_audit_move_to_the_default_team(empty_database_url):
    upgrade(empty_database_url, "0007")
    seed_before_teams(empty_database_url)
    upgrade(empty_database_url, "0008")
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        team_id, owner = conn.execute(text("SELECT t.id, u.username FROM teams t JOIN users u ON u.id = t.created_by_id"
                                           " WHERE t.name = 'default'")).one()
        members = dict(conn.execute(text("SELECT u.username, m.role FROM memberships m JOIN users u ON u.id = m.user_id"
                                         " WHERE m.team_id = :t"), {"t": team_id}).all())
        setups = set(conn.execute(text("SELECT team_id FROM setups")).scalars())
        audit = dict(conn.execute(text("SELECT target, team_id FROM audit_entries")).all())
    columns = {c["name"]: c for c in inspect(engine).get_columns("setups")}
    engine.dispose()
    assert owner == "root"  # the first admin
    # Everyone keeps what they had: the non-admins' roles now apply to the default team; admins stay global.
    assert members == {"carol": "operator", "vera": "viewer", "abe": "approver"}
    assert setups == {team_id} and columns["team_id"]["nullable"] is False
    assert audit == {"setup 1": team_id, "setup:2": team_id, "root": None, "new setup": None}


def test_an_empty_database_gets_the_default_team_and_migrates_down_again(empty_database_url):
    upgrade(empty_database_url, "0008")
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, created_by_id FROM teams")).all() == [("default", None)]
    engine.dispose()
    command.downgrade(alembic_config(empty_database_url), "0007")
    engine = make_engine(empty_database_url)
    tables = set(inspect(engine).get_table_names())
    setup_columns = {c["name"] for c in inspect(engine).get_columns("setups")}
    engine.dispose()
    assert "teams" not in tables and "memberships" not in tables and "team_id" not in setup_columns
