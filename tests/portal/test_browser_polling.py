"""In Chromium, a live operation page polls its events without keeping the person's session alive."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory
from core.models import Setup, SetupStatus, UserSession
from portal import sessions
from tests.portal import factories as f
from tests.portal.helpers import BUILD, PASSWORD, PRODUCTION, STAGING, TEST_BROKER_URL, TEST_SECRET
from tests.portal.live import chromium_page, serve_portal


class Clock:
    """The portal's session clock, moved by the test (the server runs in this process)."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment


@pytest.mark.browser
def test_a_page_left_open_polls_as_a_poll_and_its_session_still_lapses(tmp_path, broker):
    clock, url = Clock(), f"sqlite:///{tmp_path / 'polling.db'}"
    with serve_portal({"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET, "CELERY_BROKER_URL": TEST_BROKER_URL,
                       "SESSION_CLOCK": clock}) as base:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as db:
            setup = Setup(name="orders-api", build_account_id=BUILD, staging_account_id=STAGING,
                          production_account_id=PRODUCTION, region="eu-west-1", status=SetupStatus.READY.value)
            db.add(setup)
            db.flush()
            applied = f.add_apply(db, setup, f.add_plan(db, setup), status="running")
            db.commit()
            page_url = f"/setups/{setup.id}/operations/{applied.id}"
        with chromium_page(base) as page:
            page.goto("/login")
            page.fill("#username", "olivia")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.goto(page_url)
            signed_in_at = clock.moment
            for minutes in (10, 20, 29):
                clock.moment = signed_in_at + timedelta(minutes=minutes)
                with page.expect_response(lambda r: "/events?" in r.url) as polled:
                    pass
                response = polled.value
                assert response.status == 200
                assert response.request.headers.get(sessions.POLL_HEADER.lower()) == "1"
            with factory() as db:
                [row] = db.scalars(select(UserSession)).all()
                # Three polls, 29 minutes on: the person was last seen when the page loaded.
                assert row.last_seen_at.replace(tzinfo=UTC) == signed_in_at
            clock.moment = signed_in_at + timedelta(minutes=31)
            with page.expect_response(lambda r: "/login" in r.url):
                pass  # the next poll finds the session lapsed and is sent to sign in
            page.reload()
            assert "/login" in page.url
            assert page.problems == []
        engine.dispose()
