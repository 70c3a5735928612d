"""The append-only audit log: who did what, when, and how it ended."""
from __future__ import annotations

import logging
import unicodedata
from typing import Any

from flask import g, has_request_context, request

from core.models import AuditEntry
from portal.db import get_session

log = logging.getLogger(__name__)

SUCCESS, DENIED, FAILED = "success", "denied", "failed"
ANONYMOUS = "anonymous"


def clean(text: str, limit: int) -> str:
    """Drop control characters (PostgreSQL refuses NUL) and cut to the column's size."""
    return "".join(char for char in text if unicodedata.category(char) != "Cc")[:limit]


def clean_json(value: Any) -> Any:
    """Return ``value`` with every string cleaned: JSON columns on PostgreSQL refuse NUL too."""
    if isinstance(value, str):
        return clean(value, 2000)
    if isinstance(value, dict):
        return {clean(str(key), 200): clean_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(item) for item in value]
    return value


def _current_actor() -> str:
    from portal.security import acting_user  # security imports this module

    user = acting_user() if has_request_context() else None
    return user.username if user is not None else ANONYMOUS


def record(action: str, outcome: str, *, target: str = "", detail: dict[str, Any] | None = None,
           message: str = "", actor: str | None = None, team_id: int | None = None) -> AuditEntry:
    """Add an entry to the request's session; the caller's commit makes it permanent.

    ``team_id`` defaults to the team of the setup the request is about (portal/access.py); an entry whose
    target names a setup gets that setup's team anyway (core/models/accounts.py).
    """
    if team_id is None and has_request_context():
        team_id = g.get("setup_team_id")
    entry = AuditEntry(
        team_id=team_id,
        actor=clean(actor if actor is not None else _current_actor(), 64) or ANONYMOUS,
        action=action,
        target=clean(target, 128),
        outcome=outcome,
        detail=clean_json(detail or {}),
        remote_addr=clean(request.remote_addr or "", 64) if has_request_context() else "",
        message=clean(message, 2000),
    )
    get_session().add(entry)
    log.info("audit %s %s %s %s", entry.actor, action, entry.target, outcome)
    return entry
