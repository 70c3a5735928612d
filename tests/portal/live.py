"""A real portal on a real HTTP server, and Debian's Chromium to drive it: for browser tests."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server

from portal import accounts, create_app
from portal import db as portal_db
from portal.db import get_session
from tests.portal.helpers import PASSWORD

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out on this offline machine.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextmanager
def serve_portal(config: dict[str, Any], operator: str = "olivia") -> Iterator[str]:
    """Serve a portal built from ``config`` on a free port with one operator; yield its URL."""
    app = create_app({"SESSION_COOKIE_SECURE": False, **config})  # plain http://127.0.0.1
    with app.app_context():
        accounts.create_user(get_session(), operator, PASSWORD, "operator")
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
