"""First start: gunicorn with several workers on a fresh database migrates it once and every worker serves."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from sqlalchemy import inspect

from core.db import make_engine
from tests.portal.helpers import TEST_SECRET
from tests.waiting import free_port, wait_for

FIRST_MIGRATION = "Running upgrade  -> 0001"


def healthy(port: int, probe: str = "start") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?probe={probe}", timeout=2) as response:
            return json.load(response) == {"status": "ok", "database": "ok"}
    except OSError:
        return False


def served_by(log: Path, probe: str) -> list[str]:
    """The worker pids that served ``probe`` (see --access-logformat below).

    Each request is named by its query, so a log line written after its response (as gunicorn does)
    cannot be mistaken for another request's.
    """
    return re.findall(rf"^served-by <?(\d+)>? /healthz probe={probe}$", log.read_text(), re.MULTILINE)


def test_gunicorn_with_two_workers_migrates_a_fresh_database_once(empty_database_url, tmp_path):
    port, log = free_port(), tmp_path / "gunicorn.log"
    env = {**os.environ, "PORTAL_DATABASE_URL": empty_database_url, "PORTAL_SECRET_KEY": TEST_SECRET,
           "PORTAL_INSTANCE_DIR": str(tmp_path), "PORTAL_ENV": "production"}
    # The README's Docker command, as a Flask deployment guide would have it, plus an access log naming the pid.
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--access-logfile", "-", "--access-logformat", "served-by %(p)s %(U)s %(q)s", "portal.wsgi:app"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        watch = {"process": server, "output": log.read_text}
        wait_for(lambda: log.read_text().count("Portal created") == 2, 30, "both workers to load", **watch)
        wait_for(lambda: healthy(port), 30, "/healthz", **watch)
        # Hold one worker on a request it has not finished reading (a sync worker serves one at a
        # time); the next request can only be answered by the other.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as held:
            held.sendall(b"GET /healthz?probe=held HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert healthy(port, "free")
            wait_for(lambda: served_by(log, "free"), 10, "the free worker's access log line", **watch)
            held.sendall(b"Connection: close\r\n\r\n")
            assert held.recv(4096).startswith(b"HTTP/1.1 200")
        wait_for(lambda: served_by(log, "held"), 10, "the held worker's access log line", **watch)
        assert served_by(log, "free") != served_by(log, "held"), log.read_text()
        output = log.read_text()
        assert output.count(FIRST_MIGRATION) == 1, output
        assert output.count("Migrating database to heads") == 1, output
        assert "Traceback" not in output and "Worker exiting" not in output, output
    finally:
        server.terminate()
        server.wait(timeout=15)
    engine = make_engine(empty_database_url)
    assert {"users", "operations", "user_sessions", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()
