"""A Celery worker started first on a fresh database migrates it (core.db.upgrade, once across processes)."""
from __future__ import annotations

import os
import re

from sqlalchemy import inspect

from core.config import REPO_ROOT
from core.db import make_engine
from tests.waiting import wait_for
from tests.worker.celery_helpers import RedisServer, WorkerProcess


def test_worker_migrates_a_fresh_database_before_it_starts(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    # A private Redis: this worker must not take tasks other tests send on the shared server.
    redis = RedisServer(tmp_path)
    redis.start()
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "CELERY_BROKER_URL": redis.url, "PYTHONPATH": str(REPO_ROOT)}
    worker = WorkerProcess(tmp_path / "worker.log", env, concurrency=1)
    try:
        engine = make_engine(url)
        assert {"users", "operations", "stacks", "alembic_version"} <= set(inspect(engine).get_table_names())
        engine.dispose()
        # Its own start-up sweep reads the operations table: it succeeds on the database it migrated.
        wait_for(lambda: re.search(r"worker\.resume_operations\[[^]]+\] succeeded", worker.output()), 30,
                 "the start-up sweep")
    finally:
        worker.stop()
        redis.stop()
