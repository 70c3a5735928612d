"""The Celery application: ``celery -A worker.celery_app worker``.

Tasks are acknowledged after they run (acks_late) and rejected back to the queue if the worker
process dies, one message is prefetched at a time, and only JSON crosses the broker.
"""
from __future__ import annotations

import logging

from celery import Celery, bootsteps
from celery.signals import worker_init, worker_process_init, worker_ready

from core import config
from worker import settings
from worker.event_consumer import EventConsumers
from worker.pipeline_tick import PipelineTick

logger = logging.getLogger(__name__)

app = Celery("worker", broker=config.broker_url(),
             include=["worker.tasks", "worker.pipeline_refresh", "worker.pipeline_actions",
                      "worker.approval_review", "worker.approvals"])
app.conf.update(
    result_backend=settings.result_backend(),
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_default_queue="celery",
    broker_connection_retry_on_startup=True,
    # Monitor tasks wait seconds, not hours; a message a dead worker held comes back after
    # this long (the resume task brings its work back sooner).
    broker_transport_options={"visibility_timeout": settings.visibility_timeout()},
    # Sending a follow-up retries through a short broker outage instead of failing the task.
    task_publish_retry_policy={"max_retries": 20, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 3},
    worker_hijack_root_logger=False,
    timezone="UTC",
)


@worker_init.connect
def _migrate(**_: object) -> None:
    """Bring the database to the current schema before the pool starts, so the worker may start first.

    core.db.upgrade takes a lock across processes and does nothing on a migrated database, so a
    portal starting beside it (or another worker) never migrates at the same time.
    """
    from core.db import upgrade

    upgrade(config.database_url())


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    """A forked pool process must not reuse its parent's database connections."""
    from worker import db

    db.dispose_all()


def _send_resume() -> None:
    try:
        app.send_task("worker.resume_operations")
    except Exception:  # noqa: BLE001 - the broker may be down; the next sweep tries again
        logger.warning("cannot queue worker.resume_operations; will try at the next sweep", exc_info=True)


@worker_ready.connect
def _resume_on_start(sender: object = None, **_: object) -> None:
    """A new worker picks up whatever a dead one was following (see worker.tasks.resume_operations)."""
    _send_resume()


class ResumeSweep(bootsteps.StartStopStep):
    """Every PORTAL_SWEEP_SECONDS, queue worker.resume_operations from the worker's own timer.

    A monitor chain whose message was lost (a Redis restart, a worker killed while it held the
    message) has a lease that runs out; the sweep hands such stacks to whichever worker is
    alive, so no extra scheduler process (celery beat) is needed.
    """

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: object, **kwargs: object) -> None:
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker: object) -> None:
        interval = settings.sweep_seconds()
        self.tref = worker.timer.call_repeatedly(interval, _send_resume, priority=10)  # type: ignore[attr-defined]

    def stop(self, worker: object) -> None:
        if self.tref is not None:
            self.tref.cancel()


app.steps["worker"].add(ResumeSweep)
app.steps["worker"].add(PipelineTick)  # the dashboard's reads (worker/pipeline_refresh.py)
app.steps["worker"].add(EventConsumers)  # the event queues' readers (worker/event_consumer.py)
