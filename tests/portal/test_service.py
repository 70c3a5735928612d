"""Saving under concurrency: the database has the last word on names and versions."""
from __future__ import annotations

import pytest

from core.models import Setup
from portal.db import get_session
from portal.setups import service
from tests.portal.helpers import default_team, setup_values


def test_a_concurrent_duplicate_name_is_caught_by_the_unique_key(app, make_setup, monkeypatch):
    make_setup(name="orders-api")
    # Both editors passed the friendly check before either committed.
    monkeypatch.setattr(service, "check_name_free", lambda session, setup: None)
    with app.test_request_context(), pytest.raises(service.NameTaken, match="Another setup already uses the name"):
        service.save(get_session(), service.new_setup(None, default_team(get_session())), setup_values(name="orders-api"), action="setup.create")


def test_a_concurrent_save_loses_with_a_conflict(app, make_setup, database_url):
    setup_id = make_setup()
    with app.test_request_context():
        mine = get_session().get(Setup, setup_id)
        theirs_factory = app.extensions["db_sessions"]
        with theirs_factory() as theirs:
            other = theirs.get(Setup, setup_id)
            other.branch = "theirs"
            theirs.commit()
        with pytest.raises(service.SetupConflict, match="Someone else changed this setup"):
            service.save(get_session(), mine, {"branch": "mine"}, action="setup.update", sent_version=1)
    with app.app_context():
        assert get_session().get(Setup, setup_id).branch == "theirs"


def test_refuses_a_stale_version_before_touching_the_row(app, make_setup):
    setup_id = make_setup()
    with app.test_request_context():
        setup = get_session().get(Setup, setup_id)
        with pytest.raises(service.SetupConflict, match="it is now at version 1; your copy was version 7"):
            service.save(get_session(), setup, {"branch": "x"}, action="setup.update", sent_version=7)
