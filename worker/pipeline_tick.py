"""The timer that queues ``worker.refresh_pipelines`` every PORTAL_PIPELINE_TICK_SECONDS.

Like the resume sweep (worker/celery_app.py), it runs on each worker's own timer, so no beat
process is needed; the task itself decides which pipelines are due, and claims each read, so
several workers ticking cost AWS nothing more.
"""
from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

from worker import settings

logger = logging.getLogger(__name__)

TASK = "worker.refresh_pipelines"


class PipelineTick(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker: Any) -> None:
        app = worker.app

        def send() -> None:
            try:
                # Expires: a tick still queued after the next one was sent is worth nothing.
                app.send_task(TASK, expires=max(1.0, 2 * settings.pipeline_tick_seconds()))
            except Exception:  # noqa: BLE001 - the broker may be down; the next tick tries again
                logger.warning("cannot queue %s; will try at the next tick", TASK, exc_info=True)

        self.tref = worker.timer.call_repeatedly(settings.pipeline_tick_seconds(), send, priority=10)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
