"""Worker settings read from the environment (each read at call time, so tests can change them)."""
from __future__ import annotations

import os
from pathlib import Path

from core.config import REPO_ROOT


def templates_dir() -> Path:
    """Where deploy-dependencies.yaml and build-pipeline.yaml live."""
    return Path(os.environ.get("PORTAL_TEMPLATES_DIR", REPO_ROOT / "templates_cfn"))


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
    if mode not in ("standard", "adaptive", "legacy"):
        raise ValueError(f"PORTAL_AWS_RETRY_MODE must be standard or adaptive, not {mode!r}")
    return mode


def max_attempts() -> int:
    return int(os.environ.get("PORTAL_AWS_MAX_ATTEMPTS", "10"))


def pending_resend_seconds() -> float:
    """How long an operation may stay pending before the sweep sends its task again (worker/outbox.py)."""
    return float(os.environ.get("PORTAL_PENDING_RESEND_SECONDS", "60"))
