"""Test databases on the real servers, shared by the areas' fixtures."""
from __future__ import annotations

from sqlalchemy import text

from core.db import make_engine, upgrade


def fresh_database(kind: str, request, tmp_path) -> str:
    """Return the URL of a migrated, empty database: a SQLite file, or the session's PostgreSQL one emptied."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'portal.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url
