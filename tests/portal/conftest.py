"""Portal fixtures in the flaskr style: app, client, auth; factories for users and setups.

CSRF stays on in every test: helpers read the token from the page, as a browser would.
"""
from __future__ import annotations

from typing import Any

import pytest
import redis

from sqlalchemy import select

from core.models import DEFAULT_TEAM, Membership, Setup, Team
from portal import accounts, create_app
from portal import db as portal_db
from portal.db import get_session
from portal.setups import service
from tests.portal.helpers import PASSWORD, ROLES, TEST_BROKER_URL, AuthActions, portal_config, setup_values


@pytest.fixture
def app(database_url):
    app = create_app(portal_config(database_url))
    yield app
    portal_db.dispose(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def make_user(app):
    """Create a user: ``make_user("ann", "viewer")`` returns its id."""

    def make(username: str, role: str = "operator", password: str = PASSWORD, active: bool = True,
             team: str | None = DEFAULT_TEAM) -> int:
        """A non-admin joins ``team`` (the default team, which every setup of make_setup is in) with ``role``."""
        with app.app_context():
            session = get_session()
            user = accounts.create_user(session, username, password, role)
            user.is_active = active
            if role != "admin" and team is not None:
                team_id = session.scalar(select(Team.id).where(Team.name == team))
                session.add(Membership(team_id=team_id, user_id=user.id, role=role))
            session.commit()
            return user.id

    return make


@pytest.fixture
def users(make_user):
    """One user per role, each named after its role."""
    return {role: make_user(role, role) for role in ROLES}


@pytest.fixture
def make_setup(app):
    """Save a setup from (possibly partial) values, as the wizard would: ``make_setup(name="x")`` returns its id."""

    def make(team: str = DEFAULT_TEAM, **overrides: Any) -> int:
        values = setup_values(**overrides)
        with app.test_request_context():
            session = get_session()
            setup = service.new_setup(created_by_id=None,
                                      team_id=session.scalar(select(Team.id).where(Team.name == team)))
            service.save(session, setup, values, action="setup.create")
            return setup.id

    return make


@pytest.fixture
def load(app):
    """Read a row fresh from the database: ``load(Setup, 1)``."""

    def read(model, ident):
        with app.app_context():
            return get_session().get(model, ident)

    return read


@pytest.fixture
def setup_row(load):
    return lambda setup_id: load(Setup, setup_id)


@pytest.fixture
def broker():
    """The real local Redis, database 9, with the default queue emptied before and after."""
    client = redis.Redis.from_url(TEST_BROKER_URL)
    client.delete("celery")
    yield client
    client.delete("celery")
    client.close()


@pytest.fixture
def db(app):
    """A session of the test's own on the app's database, for seeding rows the worker would write."""
    session = app.extensions["db_sessions"]()
    yield session
    session.close()


@pytest.fixture
def ready_setup(db, make_setup):
    """A ready setup (orders-api, three accounts), loaded in the ``db`` session."""
    return db.get(Setup, make_setup())
