"""Server-side sign-in sessions: the cookie carries a random token, the database its hash and its times.

A session is valid only while its row exists and is neither idle nor too old, so deleting a user's rows
ends every copy of their cookies: after signing out, a password change, deactivation or an admin's
"sign out everywhere". Flask's signed cookie alone could not be taken back.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from typing import NamedTuple, Protocol

from flask import current_app, has_request_context, request, session
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from core.models import Membership, User, UserSession
from core.times import as_utc

log = logging.getLogger(__name__)

TOKEN_KEY = "_session_token"
# Seconds of last-seen accuracy traded for a write per request: the idle timeout is counted in minutes.
TOUCH_EVERY_SECONDS = 60
# The live pages' script sends this header with every poll (portal/static/js/deployments.js). A page
# left open polls for as long as it is open: counted as activity, it would keep an unattended session
# alive forever. A poll is still checked like any request; it only does not count as being there.
POLL_HEADER = "X-Portal-Poll"


def now() -> datetime:
    return current_app.config["SESSION_CLOCK"]()


def _hash(token: str) -> str:
    # 256 random bits: a fast hash is as safe as a slow one, and a leaked table holds no usable cookie.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def begin(db: Session, user_id: int) -> None:
    """Record a new session for the user (the caller commits) and put its token in the cookie."""
    moment = now()
    # The user's dead sessions go now: nothing else deletes rows that simply lapsed.
    for row in _rows(db, user_id):
        if not is_live(row, moment):
            db.delete(row)
    token = secrets.token_urlsafe(32)
    db.add(UserSession(user_id=user_id, token_hash=_hash(token), created_at=moment, last_seen_at=moment))
    session[TOKEN_KEY] = token


class Times(Protocol):
    created_at: datetime
    last_seen_at: datetime


def is_live(row: Times, moment: datetime) -> bool:
    config = current_app.config
    return (moment - as_utc(row.last_seen_at) < config["SESSION_IDLE_TIMEOUT"]
            and moment - as_utc(row.created_at) < config["PERMANENT_SESSION_LIFETIME"])


class Account(NamedTuple):
    """What a request needs of the signed-in user (columns, not the ORM row: every poll asks)."""

    id: int
    username: str
    role: str
    is_active: bool


# Built once: constructing the statement cost a poll more than running it.
SIGNED_IN = (select(User.id, User.username, User.role, User.is_active, UserSession.id.label("session_id"),
                    UserSession.created_at, UserSession.last_seen_at, Membership.team_id,
                    Membership.role.label("team_role"))
             .join(UserSession, UserSession.user_id == User.id)
             .outerjoin(Membership, Membership.user_id == User.id)
             .where(UserSession.token_hash == bindparam("token_hash")).order_by(Membership.team_id))


def signed_in(db: Session, user_id: int) -> tuple[Account, tuple[tuple[int, str], ...]] | None:
    """Return the user and their (team id, role) memberships if the cookie names a live session of theirs, and
    mark it as used now (unless polled).

    One query for the rows (a row per membership), of plain columns: every request, each live page's poll
    among them, asks this, and loading ORM objects was most of a poll's cost.
    """
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str):
        return None
    # Through the connection: the ORM's execute path would cost this query twice over for plain columns.
    rows = db.connection().execute(SIGNED_IN, {"token_hash": _hash(token)}).all()
    if not rows or rows[0].id != user_id:
        return None
    first = rows[0]
    teams = tuple((found.team_id, str(found.team_role)) for found in rows if found.team_id is not None)
    moment = now()
    if not is_live(first, moment):
        log.info("Session %s of user %s lapsed", first.session_id, user_id)
        db.execute(delete(UserSession).where(UserSession.id == first.session_id))
        db.commit()
        return None
    if not _is_poll() and (moment - as_utc(first.last_seen_at)).total_seconds() >= TOUCH_EVERY_SECONDS:
        db.execute(update(UserSession).where(UserSession.id == first.session_id).values(last_seen_at=moment))
        db.commit()
    return Account(first.id, first.username, str(first.role), bool(first.is_active)), teams


def _is_poll() -> bool:
    return has_request_context() and request.headers.get(POLL_HEADER) == "1"


def _rows(db: Session, user_id: int) -> list[UserSession]:
    return list(db.scalars(select(UserSession).where(UserSession.user_id == user_id)))


def count_live(db: Session, user_id: int) -> int:
    moment = now()
    return sum(is_live(row, moment) for row in _rows(db, user_id))


def end_all(db: Session, user_id: int) -> int:
    """Delete every session of the user (the caller commits); return how many were live."""
    moment = now()
    rows = _rows(db, user_id)
    for row in rows:
        db.delete(row)
    live = sum(is_live(row, moment) for row in rows)
    log.info("Ended %s live sessions of user %s", live, user_id)
    return live
