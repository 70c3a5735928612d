"""Fixtures every test area shares: databases on the real SQLite and PostgreSQL servers."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from core.db import make_engine, make_session_factory
from tests.databases import fresh_database

# The machine's PostgreSQL (trust auth); CI and developers override it with PORTAL_TEST_POSTGRES_URL.
POSTGRES_ADMIN_URL = os.environ.get(
    "PORTAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url():
    """Create a database of this test session's own on the real server; drop it at the end."""
    name = f"lpp_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A migrated, empty database URL, once on SQLite and once on PostgreSQL."""
    return fresh_database(request.param, request, tmp_path)


@pytest.fixture
def db_session_factory(database_url):
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()
