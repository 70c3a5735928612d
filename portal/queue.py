"""Enqueue worker tasks by name over Celery; the portal never imports the worker."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from celery import Celery
from flask import Flask, current_app
from kombu.exceptions import KombuError

log = logging.getLogger(__name__)

PLAN_SETUP = "worker.plan_setup"
APPLY_SETUP = "worker.apply_setup"
TEARDOWN_SETUP = "worker.teardown_setup"
# A few quick retries ride out a broker restart; more would keep the user's request waiting.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}


class QueueUnavailable(RuntimeError):
    """The broker did not take the message."""


def redact(url: str) -> str:
    """Return the broker URL without its password, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def init_app(app: Flask) -> None:
    celery = Celery("portal", broker=app.config["CELERY_BROKER_URL"], set_as_current=False)
    celery.conf.update(
        broker_connection_timeout=3,
        broker_connection_retry=False,
        task_default_queue="celery",
        task_serializer="json",
        accept_content=["json"],
    )
    app.extensions["celery"] = celery


def enqueue(task_name: str, operation_id: int, *, task_id: str | None = None) -> str:
    """Send ``task_name(operation_id)`` to the default queue and return the Celery task id.

    :raise QueueUnavailable: the broker cannot be reached
    """
    celery: Celery = current_app.extensions["celery"]
    try:
        result = celery.send_task(
            task_name, args=[operation_id], task_id=task_id, retry=True, retry_policy=RETRY_POLICY
        )
    except (KombuError, OSError) as err:
        broker = redact(current_app.config["CELERY_BROKER_URL"])
        log.warning("Could not enqueue %s for operation %s on %s: %s", task_name, operation_id, broker, err)
        raise QueueUnavailable(
            f"The task queue at {broker} did not answer ({err}), so the request could not be handed to a worker. "
            "Check that Redis is running, then ask again."
        ) from err
    log.info("Enqueued %s for operation %s as task %s", task_name, operation_id, result.id)
    return result.id
