"""Fixtures every test area shares: databases on the real SQLite and PostgreSQL servers.

One way to run a test on both databases: the ``both_databases`` marker. A test that asks for a
database (``database_url``, ``empty_database_url``, ``db_session_factory``, the worker's
``worker_db``) runs on SQLite only, or once on SQLite and once on PostgreSQL when it is marked.
Mark a test, a class or a module (``pytestmark = pytest.mark.both_databases``); the areas in
``BOTH_DATABASES_AREAS`` are marked whole here, because their persistence is what they test (the
portal's queries, core's models and migrations). In those areas a test where the database plays no
part says ``@pytest.mark.both_databases(False)``: the marker closest to the test decides. The worker marks the persistence-heavy tests only:
its tests mostly exercise AWS through the emulator, and running them twice would double the suite.
The PostgreSQL runs carry the ``postgres`` marker, so ``-m "not postgres"`` leaves them out.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.db import make_engine, make_session_factory
from tests.databases import empty_database, fresh_database

# The machine's PostgreSQL (trust auth); CI and developers override it with PORTAL_TEST_POSTGRES_URL.
POSTGRES_ADMIN_URL = os.environ.get(
    "PORTAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TESTS = Path(__file__).resolve().parent
BOTH_DATABASES_AREAS = {"portal", "core"}
# `make test` runs two pytest-xdist workers, each taking whole areas (--dist loadgroup): the portal's
# tests are mostly CPU (Flask, SQLite), the others mostly wait on the emulator, builds and browsers, so
# the two overlap well on two cores. An area's tests share named local resources (Redis databases,
# the emulator's Go cache), so an area never runs on both workers at once.
XDIST_GROUPS = {"portal": "portal", "core": "portal"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases(on=True): run on SQLite and on PostgreSQL too (see tests/conftest.py)")


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector):
    """Mark every module of the areas that test persistence both_databases, and each its xdist group."""
    module = yield
    if module_path.is_relative_to(TESTS):
        area = module_path.relative_to(TESTS).parts[0]
        if area in BOTH_DATABASES_AREAS:
            module.add_marker(pytest.mark.both_databases)
        module.add_marker(pytest.mark.xdist_group(XDIST_GROUPS.get(area, "aws")))
    return module


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give each test that needs a database its kinds: SQLite, and PostgreSQL too when marked."""
    if "db_kind" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("both_databases")  # the test's own wins
        both = marker is not None and (marker.args[0] if marker.args else True)
        kinds = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)] if both else ["sqlite"]
        metafunc.parametrize("db_kind", kinds)


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


@pytest.fixture
def database_url(db_kind, request, tmp_path):
    """A migrated, empty database URL of the test's kind."""
    return fresh_database(db_kind, request, tmp_path)


@pytest.fixture
def empty_database_url(db_kind, request, tmp_path):
    """An empty database nothing has migrated yet (for tests of migrating itself)."""
    return empty_database(db_kind, request, tmp_path)


@pytest.fixture
def db_session_factory(database_url):
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()
