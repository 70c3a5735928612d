"""A real ``celery worker`` keeps a watched pipeline's snapshot fresh by its own timer and sends a release.

Nothing sends the reads: the worker's PipelineTick queues worker.refresh_pipelines every second, as
in production. A page opening (simulated here as the portal's service writes it: watched_until and
next_read_at) gets a fresh read within seconds, and a new execution shows within 5 s.
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from core.models import Operation, PipelineRequest, PipelineSnapshot, Setup, utcnow
from emulator.client import control
from tests.waiting import wait_for
from tests.worker.celery_helpers import SHARED_REDIS, WorkerProcess, sender
from tests.worker.conftest import BUILD
from tests.worker.test_pipeline_dashboard import create_pipeline

# About what the worker reads and sends, not the actions' work: actions are timed stand-ins.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed_actions")]


def snapshot(factory: Any) -> PipelineSnapshot | None:
    with factory() as session:
        return session.query(PipelineSnapshot).one_or_none()


def watch(factory: Any) -> None:
    with factory() as session:
        session.query(PipelineSnapshot).update({"watched_until": utcnow() + timedelta(seconds=60),
                                                "next_read_at": utcnow()})
        session.commit()


def newest_execution(factory: Any) -> str | None:
    row = snapshot(factory)
    return row.executions[0]["id"] if row is not None and row.executions else None


def test_the_worker_reads_a_watched_pipeline_by_itself_and_releases(worker_env, tmp_path, worker_db, make_setup):
    setup_id = make_setup()
    with worker_db() as session:
        app_name = session.get(Setup, setup_id).name
        create_pipeline(app_name)
        session.add(Operation(setup_id=setup_id, kind="apply", status="succeeded", requested_by="alice"))
        session.commit()
    control(worker_env["AWS_ENDPOINT_URL"], "pace", {"seconds": 0.5})
    worker = WorkerProcess(tmp_path / "worker.log", worker_env)
    try:
        # The tick makes the row and reads it once (due at once), then only every few minutes.
        first = wait_for(lambda: (r := snapshot(worker_db)) is not None and r.read_at is not None and r, 15,
                         "the first background read", output=worker.output)
        watch(worker_db)
        pushed = control(worker_env["AWS_ENDPOINT_URL"], "push",
                         {"repository": app_name, "account_id": BUILD, "message": "Watched live"})
        execution_id = pushed["pipelineExecutions"][0]["pipelineExecutionId"]
        pushed_at = time.monotonic()
        wait_for(lambda: newest_execution(worker_db) == execution_id, 5, "the push to show within 5 s",
                 output=worker.output)
        lag = time.monotonic() - pushed_at
        wait_for(lambda: (r := snapshot(worker_db)).approval and r, 20, "the approval to show",
                 output=worker.output)

        with worker_db() as session:
            request = PipelineRequest(setup_id=setup_id, kind="release", requested_by="olga")
            session.add(request)
            session.commit()
            request_id = request.id
        sender(SHARED_REDIS).send_task("worker.start_release", args=[request_id])

        def answered() -> PipelineRequest | None:
            with worker_db() as session:
                row = session.get(PipelineRequest, request_id)
                return row if row.status in ("succeeded", "failed") else None

        released = wait_for(answered, 15, "the release to be sent", output=worker.output)
    finally:
        worker.stop()
    assert first.read_error == ""
    assert lag < 5
    assert released.status == "succeeded", released.message
    assert released.execution_id and released.execution_id != execution_id
