"""A real portal on a real HTTP server, and Debian's Chromium to drive it: for browser tests."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

from portal import accounts, create_app
from portal import db as portal_db
from portal.db import get_session
from tests.accounts import join_default_team
from tests.portal.helpers import PASSWORD, TEST_SECRET

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out on this offline machine.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextmanager
def serve_portal(config: dict[str, Any], operator: str = "olivia") -> Iterator[str]:
    """Serve a portal built from ``config`` on a free port with one operator; yield its URL."""
    app = create_app({"SESSION_COOKIE_SECURE": False, **config})  # plain http://127.0.0.1
    with app.app_context():
        join_default_team(get_session(), accounts.create_user(get_session(), operator, PASSWORD, "operator").id,
                          "operator")
        get_session().commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        portal_db.dispose(app)


def serve_system_portal(database: str, broker: str, emulator: str | None = None):
    """A system journey's portal on its database and broker; with ``emulator``, in emulator mode (its hand-over
    shows what works against the emulator). A context manager yielding the portal's URL."""
    config = {"DATABASE_URL": database, "MIGRATE_ON_START": False, "SECRET_KEY": TEST_SECRET,
              "CELERY_BROKER_URL": broker}
    if emulator is not None:
        config["EMULATOR_URL"] = emulator
    return serve_portal(config)


@contextmanager
def chromium_page(base_url: str, expected_error: Callable[[str], bool] = lambda text: False) -> Iterator[Page]:
    """A Chromium page on ``base_url`` whose ``problems`` list collects console errors and script errors.

    A CSP violation, a missing asset or a script error shows up there: the pages must have none.
    ``expected_error`` names console errors a test provokes on purpose.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" and not expected_error(message.text) else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.problems = problems
        try:
            yield page
        finally:
            context.close()
            browser.close()
