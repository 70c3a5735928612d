"""Every setting the worker reads from the environment, in one place.

Each is read at call time, so tests (and an operator restarting with new values) can change them.
A value that is not what the variable needs stops the worker with a message naming the variable,
instead of a bare ``ValueError`` from ``float()``. The database and broker URLs are shared with the
portal and live in core/config.py.
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from core.config import REPO_ROOT

# Retry modes botocore offers that we support (docs: STYLE.md, "Retries come from botocore's retry
# modes"). ``legacy`` is botocore's pre-2020 behaviour, kept by botocore for compatibility only: it
# retries fewer errors and has no retry quota, so we refuse it rather than run on it unnoticed.
RETRY_MODES = ("standard", "adaptive")


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value


def _whole(name: str, default: int) -> int:
    value = _number(name, default)
    if value != int(value):
        raise ValueError(f"{name} must be a whole number, not {os.environ[name]!r}")
    return int(value)


def templates_dir() -> Path:
    """Where deploy-dependencies.yaml and build-pipeline.yaml live."""
    return Path(os.environ.get("PORTAL_TEMPLATES_DIR") or REPO_ROOT / "templates_cfn")


def template_base_url() -> str:
    """HTTPS prefix under which the operator published the templates (for quick-create links).

    CloudFormation's quick-create page only accepts a template URL in S3, so the operator
    uploads templates_cfn/ once, e.g. ``aws s3 cp templates_cfn/ s3://BUCKET/lpp/ --recursive``,
    and sets ``PORTAL_TEMPLATE_BASE_URL=https://BUCKET.s3.REGION.amazonaws.com/lpp``.
    ``python -m worker.publish`` does the upload. Empty means "not published": the self-launch
    instructions then carry only the CLI command, which deploys from a local file.
    """
    return os.environ.get("PORTAL_TEMPLATE_BASE_URL", "").rstrip("/")


def portal_url() -> str:
    """The portal's public URL: the pipeline's approval links point back to it."""
    return os.environ.get("PORTAL_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")


def retry_mode() -> str:
    """botocore retry mode: ``standard`` by default, ``adaptive`` adds client-side rate limiting."""
    mode = os.environ.get("PORTAL_AWS_RETRY_MODE", "standard")
    if mode not in RETRY_MODES:
        raise ValueError(f"PORTAL_AWS_RETRY_MODE must be standard or adaptive, not {mode!r}")
    return mode


def max_attempts() -> int:
    """Attempts per AWS call, the first included (botocore's ``max_attempts``)."""
    return _whole("PORTAL_AWS_MAX_ATTEMPTS", 10)


def pending_resend_seconds() -> float:
    """How long an operation may stay pending before the sweep sends its task again (worker/outbox.py)."""
    return _number("PORTAL_PENDING_RESEND_SECONDS", 60)


def lease_grace() -> timedelta:
    """How long past its next scheduled step a monitor chain keeps its stack (worker/lifecycle.py).

    After that the chain's worker is presumed dead and the sweep hands the stack to another.
    """
    return timedelta(seconds=_number("PORTAL_LEASE_GRACE_SECONDS", 15))


def sweep_seconds() -> float:
    """How often each worker queues worker.resume_operations (worker/celery_app.py)."""
    return _number("PORTAL_SWEEP_SECONDS", 30)


def pipeline_tick_seconds() -> float:
    """How often each worker looks for pipelines due for a read (worker/pipeline_tick.py)."""
    return _number("PORTAL_PIPELINE_TICK_SECONDS", 1)


def visibility_timeout() -> int:
    """Seconds before Redis gives a message a dead worker held to another worker."""
    return _whole("PORTAL_VISIBILITY_TIMEOUT", 300)


def events_enabled() -> bool:
    """Whether the worker reads the setups' event queues (worker/event_consumer.py); on by default.

    ``PORTAL_EVENTS=off`` leaves every setup to polling alone (the benchmark's polling mode).
    """
    raw = os.environ.get("PORTAL_EVENTS", "on").strip().lower()
    if raw not in ("on", "off"):
        raise ValueError(f"PORTAL_EVENTS must be on or off, not {raw!r}")
    return raw == "on"


def result_backend() -> str | None:
    """Celery's result backend; none by default (tasks record their outcome in the database)."""
    return os.environ.get("CELERY_RESULT_BACKEND") or None


def poll_overrides() -> dict[str, float]:
    """The polling cadence's limits an operator (or a test against a fast emulator) overrides.

    Only the variables that are set appear; worker/cadence.py's defaults hold for the rest.
    """
    names = {"steady": "PORTAL_POLL_STEADY_SECONDS", "fast": "PORTAL_POLL_FAST_SECONDS",
             "calls_per_minute": "PORTAL_POLL_CALLS_PER_MINUTE"}
    given = {key: name for key, name in names.items() if os.environ.get(name, "").strip()}
    return {key: (_whole(name, 0) if key == "calls_per_minute" else _number(name, 0)) for key, name in given.items()}
