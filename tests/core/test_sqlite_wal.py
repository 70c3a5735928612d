"""Processes opening a new SQLite file together all get a WAL database, none "database is locked".

Converting to WAL takes an exclusive lock, and SQLite refuses a rival at once, without its busy
timeout, where waiting could deadlock: the race behind a first start's crash (gunicorn workers, the
Celery worker and the CLI opening a fresh file at the same moment).
"""
from __future__ import annotations

import multiprocessing
import sqlite3

import pytest
from sqlalchemy import text

from core.db import _enable_wal, make_engine

pytestmark = pytest.mark.both_databases(False)


def _open(url: str, barrier, results) -> None:
    engine = make_engine(url)
    barrier.wait()  # every process connects, so converts, at the same instant
    try:
        with engine.connect() as conn:
            results.put(conn.execute(text("PRAGMA journal_mode")).scalar())
    except Exception as err:  # the test reports it, whatever it is
        results.put(repr(err))
    finally:
        engine.dispose()


def test_processes_opening_a_new_file_together_all_get_wal(tmp_path):
    context = multiprocessing.get_context("fork")
    outcomes: list[str] = []
    for round_ in range(25):
        url = f"sqlite:///{tmp_path / f'race-{round_}.db'}"
        barrier, results = context.Barrier(4), context.Queue()
        processes = [context.Process(target=_open, args=(url, barrier, results)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        outcomes += [results.get(timeout=5) for _ in processes]
    assert set(outcomes) == {"wal"}, [o for o in outcomes if o != "wal"]


class LockedTwice:
    """A cursor refused twice as a rival's conversion would refuse it (the race is too rare to
    provoke on demand, so this stands in for the SQLite answer the test above meets at random)."""

    def __init__(self, error: str = "database is locked") -> None:
        self.calls, self.error = 0, error

    def execute(self, sql: str) -> None:
        self.calls += 1
        if self.calls <= 2:
            raise sqlite3.OperationalError(self.error)


def test_wal_is_retried_while_a_rival_converts_and_other_errors_are_not():
    cursor = LockedTwice()
    _enable_wal(cursor)  # type: ignore[arg-type]
    assert cursor.calls == 3

    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        _enable_wal(LockedTwice("disk I/O error"))  # type: ignore[arg-type]
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _enable_wal(LockedTwice(), patience=0)  # type: ignore[arg-type]
