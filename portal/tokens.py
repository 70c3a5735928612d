"""Per-user API tokens: shown once at creation, stored only as a SHA-256 hash."""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import ApiToken, User

TOKEN_PREFIX = "lpp_"
# A last-used time accurate to the minute is enough, and spares a write on every API call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    # The token is 256 random bits, so a fast hash is as safe as a slow one and keeps lookups cheap.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, user_id: int, name: str) -> tuple[ApiToken, str]:
    """Add a token for the user (the caller commits) and return it with its one-time plaintext."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, name=name, token_hash=hash_token(plaintext), prefix=plaintext[:12])
    session.add(token)
    session.flush()
    return token, plaintext


def user_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)


def authenticate(session: Session, plaintext: str) -> User | None:
    """Return the active user owning this unrevoked token, or None."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = datetime.now(UTC)
    last = token.last_used_at
    if last is None or (last if last.tzinfo else last.replace(tzinfo=UTC)) < now - LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.commit()
    return token.user
