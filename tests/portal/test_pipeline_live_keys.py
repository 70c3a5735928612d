"""The live endpoint's per-process keys: a warm poll costs the sign-in query only, and nothing is held
longer than LIVE_CACHE_SECONDS (a fake clock moves time instead of sleeping)."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from core.models import PipelineSnapshot
from portal.pipelines import live
from tests.portal import factories as f
from tests.portal.test_pipelines import deployed, seed_snapshot  # noqa: F401 - fixture


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app):
    clock = Clock()
    app.extensions["pipeline_live_keys"] = live.LiveKeys(0.5, clock=clock)
    return clock


@contextmanager
def statements(app):
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def poll(client, setup_id, etag):
    return client.get(f"/pipelines/{setup_id}/live", headers={"If-None-Match": etag, "X-Portal-Poll": "1"})


def test_a_warm_poll_costs_only_the_sign_in_query(app, client, auth, db, deployed, clock):
    seed_snapshot(db, deployed, watched_until=None)
    auth.login("viewer")
    etag = client.get(f"/pipelines/{deployed.id}/live").headers["ETag"].strip('"')
    with statements(app) as seen:
        answers = [poll(client, deployed.id, etag).status_code for _ in range(20)]
    assert answers == [304] * 20
    # The first answer renewed the interest (the cached key then knows it); the others read nothing else
    # than the sign-in (with the memberships) and the setup's team (portal/access.py), two per poll.
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 40 and sum("setups.team_id" in s for s in selects) == 20, seen
    assert not [s for s in seen if "UPDATE pipeline_snapshots" in s]


def test_a_change_shows_once_the_key_is_older_than_its_max_age(app, client, auth, db, deployed, clock):
    row = seed_snapshot(db, deployed)
    auth.login("viewer")
    etag = client.get(f"/pipelines/{deployed.id}/live").headers["ETag"].strip('"')
    poll(client, deployed.id, etag)  # warms this process's key
    db.expire_all()
    db.get(PipelineSnapshot, row.id).version += 1
    db.commit()
    clock.now += 0.4
    assert poll(client, deployed.id, etag).status_code == 304  # within the max age: the held key
    clock.now += 0.2
    changed = poll(client, deployed.id, etag)
    assert changed.status_code == 200 and changed.headers["ETag"].strip('"') != etag
    assert changed.get_json()["stages"]


def test_a_torn_down_pipeline_is_404_after_the_max_age(app, client, auth, db, deployed, clock):
    seed_snapshot(db, deployed)
    auth.login("viewer")
    etag = client.get(f"/pipelines/{deployed.id}/live").headers["ETag"].strip('"')
    f.add_operation(db, deployed, "teardown", "succeeded")
    db.commit()
    clock.now += 0.6
    assert poll(client, deployed.id, etag).status_code == 404


def test_signing_out_ends_polls_at_once_whatever_the_keys_hold(app, client, auth, db, deployed, clock):
    seed_snapshot(db, deployed)
    auth.login("viewer")
    etag = client.get(f"/pipelines/{deployed.id}/live").headers["ETag"].strip('"')
    assert poll(client, deployed.id, etag).status_code == 304
    cookie = client.get_cookie("portal_session")
    auth.logout()
    client.set_cookie(cookie.key, cookie.value)  # a copy of the cookie, replayed
    assert poll(client, deployed.id, etag).status_code in (302, 401)


def test_a_new_read_is_rendered_once_for_every_viewer_within_the_max_age(app, client, auth, db, deployed, clock):
    # While an execution runs, each read is a new ETag and most polls are 200s: the second viewer's answer is
    # the first one's bytes, with no setup, snapshot or request row loaded again.
    row = seed_snapshot(db, deployed)
    auth.login("viewer")
    etag = client.get(f"/pipelines/{deployed.id}/live").headers["ETag"].strip('"')
    db.expire_all()
    db.get(PipelineSnapshot, row.id).version += 1
    db.commit()
    clock.now += 0.6
    first = poll(client, deployed.id, etag)
    assert first.status_code == 200 and first.headers["ETag"].strip('"') != etag
    with statements(app) as seen:
        again = poll(client, deployed.id, etag)  # a viewer still holding the old ETag
    assert again.status_code == 200 and again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert not [s for s in seen if "FROM pipeline_snapshots" in s or "FROM pipeline_requests" in s], seen
    clock.now += 0.6
    db.expire_all()
    db.get(PipelineSnapshot, row.id).version += 1
    db.commit()
    later = poll(client, deployed.id, first.headers["ETag"].strip('"'))
    assert later.status_code == 200 and later.get_json()["version"] == first.get_json()["version"] + 1
