"""AWS calls per pipeline are the same at 1 and at 200 viewers: viewers read the snapshot, the cadence reads AWS.

The portal (its live endpoint, through Flask's test client) and the worker's tick share one
database; the execution waits at the manual approval, so it stays in progress all along. Time is
the tick's: 20 ticks a simulated second apart (the worker's timer ticks every second), each viewer
polling every 2 s as the page's script does. CodePipeline calls are counted by the emulator's
/_emulator/stats.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.models import Operation, PipelineSnapshot, Setup, utcnow
from emulator.client import control
from portal import create_app
from portal import db as portal_db
from tests.accounts import join_default_team
from tests.portal.helpers import PASSWORD, portal_config, submit
from tests.waiting import wait_for
from tests.worker.conftest import BUILD
from tests.worker.test_pipeline_dashboard import create_pipeline
from worker import pipeline_refresh

# Counts the calls of reading executions; the deploys' own calls are not the viewers': timed actions.
pytestmark = pytest.mark.usefixtures("timed_actions")

TICKS = 20


@pytest.fixture
def portal(database_url, worker_db):
    app = create_app(portal_config(database_url))
    with app.app_context():
        from portal import accounts
        from portal.db import get_session
        join_default_team(get_session(), accounts.create_user(get_session(), "viewer", PASSWORD, "viewer").id, "viewer")
        get_session().commit()
    yield app
    portal_db.dispose(app)


def calls(emulator: str) -> int:
    return sum(control(emulator, "stats")["calls"].get("codepipeline", {}).values())


def test_aws_calls_are_the_same_at_1_and_200_viewers_and_fewer_at_none(aws_env, worker_db, make_setup, portal):
    setup_id = make_setup()
    with worker_db() as session:
        setup = session.get(Setup, setup_id)
        app_name = setup.name
        create_pipeline(app_name)
        session.add(Operation(setup_id=setup_id, kind="apply", status="succeeded", requested_by="alice"))
        session.commit()
    control(aws_env, "push", {"repository": app_name, "account_id": BUILD, "message": "Watched"})

    def approval_waits() -> bool:
        pipeline_refresh.refresh_pipelines(utcnow() + timedelta(hours=1))
        with worker_db() as session:
            return bool(session.query(PipelineSnapshot).one().approval)

    wait_for(approval_waits, 20, "the execution to wait at the approval")
    viewers = [portal.test_client() for _ in range(200)]
    submit(viewers[0], "/login", {"username": "viewer", "password": PASSWORD})
    name = portal.config["SESSION_COOKIE_NAME"]
    cookie = viewers[0].get_cookie(name)
    for browser in viewers[1:]:  # 200 browsers of one signed-in viewer
        browser.set_cookie(name, cookie.value)

    counted = {}
    for watching in (0, 1, 200):
        with worker_db() as session:  # a fresh start: nobody watched, a read due at once
            session.query(PipelineSnapshot).update({"watched_until": None, "next_read_at": None})
            session.commit()
        control(aws_env, "stats", method="DELETE")
        start = utcnow()
        answers = []
        for tick in range(TICKS):
            if tick % 2 == 0:
                answers += [b.get(f"/pipelines/{setup_id}/live").status_code for b in viewers[:watching]]
            pipeline_refresh.refresh_pipelines(start + timedelta(seconds=tick))
        assert set(answers) <= {200, 304}
        counted[watching] = calls(aws_env)
    # Watched and active: a read every 3 s (3 calls each) over 20 s; nobody watching: the one due at start.
    assert counted[1] == counted[200] == 7 * 3
    assert counted[0] == 3
