"""core.db.upgrade migrates a database once, however many processes start on it at the same time."""
from __future__ import annotations

import fcntl
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect, text

from core.config import REPO_ROOT
from core.db import MIGRATION_LOCK_KEY, make_engine, upgrade
from tests.waiting import wait_for

MIGRATE = "import logging, sys; logging.basicConfig(level=logging.INFO); from core.db import upgrade; upgrade(sys.argv[1])"
RAN = "Migrating database to heads"
SKIPPED = "Database migrated by another process meanwhile"


@contextmanager
def holding_migration_lock(url: str):
    """Take the lock every migrating process takes, as a process in the middle of migrating would hold it."""
    if url.startswith("sqlite"):
        with Path(url.removeprefix("sqlite:///") + ".migrate-lock").open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield
        return
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        yield
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    engine.dispose()


def test_processes_starting_together_migrate_once(empty_database_url, tmp_path):
    logs = [tmp_path / f"migrate-{n}.log" for n in range(3)]
    with holding_migration_lock(empty_database_url):
        procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, empty_database_url], cwd=REPO_ROOT,
                                  stdout=log.open("w"), stderr=subprocess.STDOUT) for log in logs]
        # Each found the database unmigrated and now waits for the lock: the race a fresh start runs.
        wait_for(lambda: all("Taking" in log.read_text() for log in logs)
                 or any(proc.poll() is not None for proc in procs), 30, "all three to wait for the lock")
        assert all(proc.poll() is None for proc in procs), [log.read_text() for log in logs]
    for proc in procs:
        assert proc.wait(60) == 0, [log.read_text() for log in logs]
    outputs = [log.read_text() for log in logs]
    assert sum(RAN in out for out in outputs) == 1, outputs
    assert sum(SKIPPED in out for out in outputs) == 2, outputs
    engine = make_engine(empty_database_url)
    assert {"users", "operations", "user_sessions", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_migrated_database_is_not_locked_or_migrated_again(database_url, caplog):
    """tests/conftest.py's database is migrated: upgrade returns without waiting, even while the lock is held."""
    caplog.set_level("INFO", logger="core.db")
    with holding_migration_lock(database_url):
        upgrade(database_url)
    assert RAN not in caplog.text and "Taking" not in caplog.text
