"""Test databases on the real servers, shared by the areas' fixtures (see tests/conftest.py)."""
from __future__ import annotations

from sqlalchemy import text

from core.db import make_engine, upgrade


def empty_database(kind: str, request, tmp_path) -> str:
    """Return the URL of an empty, never migrated database: a new SQLite file, or the session's PostgreSQL one emptied."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'portal.db'}"
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def fresh_database(kind: str, request, tmp_path) -> str:
    """Return the URL of a migrated, empty database."""
    url = empty_database(kind, request, tmp_path)
    upgrade(url)
    return url
