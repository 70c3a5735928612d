"""Portal settings from the environment; a secret key is required outside local development."""
from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from core import config as core_config
from core import validation
from core.models import utcnow

log = logging.getLogger(__name__)

DEVELOPMENT = "development"
MIN_SECRET_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The environment does not describe a portal that may start."""


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the settings the environment gives; unresolved ones (database, secret) come later."""
    env = environ.get("PORTAL_ENV", "production")
    development = env == DEVELOPMENT
    lifetime = timedelta(hours=_positive_number(environ, "PORTAL_SESSION_LIFETIME_HOURS", 8))
    settings: dict[str, Any] = {
        "PORTAL_ENV": env,
        "MIGRATE_ON_START": True,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Over plain HTTP (make run's http://127.0.0.1:8000) a Secure cookie would never come back.
        "SESSION_COOKIE_SECURE": not development,
        # A signed-in session ends after this long without a request, and after this long in any case;
        # portal/sessions.py enforces both on the server, the cookie's own expiry only follows them.
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=_positive_number(environ, "PORTAL_SESSION_IDLE_MINUTES", 30)),
        "PERMANENT_SESSION_LIFETIME": lifetime,
        # Re-sent on every request, the cookie's expiry would move forward forever; the server decides anyway.
        "SESSION_REFRESH_EACH_REQUEST": False,
        # The time sessions are judged by; tests pass their own clock instead of sleeping.
        "SESSION_CLOCK": utcnow,
        # A form stays valid as long as the session it was shown in.
        "WTF_CSRF_TIME_LIMIT": int(lifetime.total_seconds()),
        # Sign-in throttling: this many failures in the window lock the username from that address,
        # and a wider limit stops one address from trying many usernames.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 30,
        "LOGIN_WINDOW_SECONDS": 15 * 60,
        # How many reverse proxies in front of the portal set X-Forwarded-For; 0 trusts none, so a
        # client cannot pick its own address to dodge the sign-in throttle.
        "PROXY_COUNT": _whole_number(environ, "PORTAL_PROXY_COUNT"),
        "PUBLIC_URL": environ.get("PORTAL_PUBLIC_URL", "http://127.0.0.1:8000"),
        # Where people reach the local AWS emulator when the portal works against it, else "" (real AWS):
        # the results page then shows what works there instead of AWS console links and git remotes.
        # make run exports AWS_ENDPOINT_URL for the worker; compose names the address the host sees.
        "EMULATOR_URL": (environ.get("PORTAL_EMULATOR_URL") or environ.get("AWS_ENDPOINT_URL") or "").rstrip("/"),
        "SAMPLE_APP_CONFIG_DIR": str(core_config.REPO_ROOT / "sample_app" / "config"),
        "API_PAGE_SIZE": 50,
        # How long one process reuses what a pipeline's live endpoint compares If-None-Match with (its
        # ETag, whether it is deployed). Viewers poll every 2 s and the worker reads every few seconds, so
        # half a second more of staleness is small, and 1,000 polls a second cost a few queries, not 5,000.
        "LIVE_CACHE_SECONDS": _whole_number(environ, "PORTAL_LIVE_CACHE_MS", 500) / 1000,
    }
    if environ.get("PORTAL_DATABASE_URL"):
        settings["DATABASE_URL"] = environ["PORTAL_DATABASE_URL"]
    if environ.get("CELERY_BROKER_URL"):
        settings["CELERY_BROKER_URL"] = environ["CELERY_BROKER_URL"]
    return settings


def _whole_number(environ: Mapping[str, str], name: str, default: int = 0) -> int:
    raw = environ.get(name, "").strip() or str(default)
    try:
        return validation.parse_whole_number(raw, 0, 10**9)
    except validation.InvalidValue as err:
        raise ConfigurationError(f"{name} must be a whole number, not {raw[:40]!r}.") from err


def _positive_number(environ: Mapping[str, str], name: str, default: int) -> int:
    number = _whole_number(environ, name, default)
    if number < 1:
        raise ConfigurationError(f"{name} must be at least 1, not {number}.")
    return number


def resolve(settings: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Fill in the database URL, broker URL and secret key, or refuse with a clear message."""
    # Only when unset: core_config.database_url() creates the instance folder for its SQLite default.
    if not settings.get("DATABASE_URL"):
        settings["DATABASE_URL"] = core_config.database_url()
    if not settings.get("CELERY_BROKER_URL"):
        settings["CELERY_BROKER_URL"] = core_config.broker_url()
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _secret_key(settings["PORTAL_ENV"], environ)
    return settings


def _secret_key(env: str, environ: Mapping[str, str]) -> str:
    key = environ.get("PORTAL_SECRET_KEY", "")
    if env == DEVELOPMENT:
        return key or development_secret_key(core_config.INSTANCE_DIR)
    if not key:
        raise ConfigurationError(
            "PORTAL_SECRET_KEY is not set. It signs sessions and CSRF tokens, so the portal will not start "
            "without it. Set it to a long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, or set PORTAL_ENV=development "
            "to use a generated key for local development."
        )
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"PORTAL_SECRET_KEY is too short ({len(key)} characters); "
            f"use at least {MIN_SECRET_LENGTH} random characters."
        )
    return key


def development_secret_key(instance_dir: Path) -> str:
    """Return a generated key kept in the instance folder, so restarts and workers share sessions."""
    path = instance_dir / "dev-secret-key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Write a private temporary file, then link it into place: link fails if the name exists, so when
    # two gunicorn workers race, both end up with the winner's complete key.
    fd, tmp = tempfile.mkstemp(dir=instance_dir, prefix=".dev-secret-key.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key)
        os.link(tmp, path)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    finally:
        os.unlink(tmp)
    log.warning("Generated a development secret key in %s; set PORTAL_SECRET_KEY outside development", path)
    return key
