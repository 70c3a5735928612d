"""Settings shared by the portal and the worker, read from the environment."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", REPO_ROOT / "instance"))
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"


def database_url() -> str:
    """Return the database URL; a SQLite file under ``instance/`` is the embedded default."""
    url = os.environ.get("PORTAL_DATABASE_URL")
    if url:
        return url
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'portal.db'}"


def broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER_URL)
