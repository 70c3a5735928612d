"""Portal users, their sign-in sessions and API tokens, and the append-only audit log."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import re

from sqlalchemy import ForeignKey, String, Text, event, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_type, utcnow
from core.models.setups import Setup


class Role(enum.StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"  # creates and changes setups
    APPROVER = "approver"  # approves production
    VIEWER = "viewer"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, 16), default=Role.VIEWER)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_logins: Mapped[int] = mapped_column(default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(default=None)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user", cascade="all, delete-orphan")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # Only a hash is stored; the token itself is shown once at creation.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="tokens")


class UserSession(Base):
    """One signed-in browser. The cookie carries a random token and this row only its hash, so deleting
    the row ends the session for good, wherever the cookie has been copied to."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One state-changing action: who, when, what, outcome. Never updated or deleted."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The username, not a foreign key: the record must outlive the account.
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(128), default="")
    outcome: Mapped[str] = mapped_column(String(16))  # success | denied | failed
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    # The team whose setup the entry is about (None: about no setup). A plain id, not a foreign key, as
    # ``actor`` is a name: the record must outlive what it names.
    team_id: Mapped[int | None] = mapped_column(default=None, index=True)


# How the portal and the worker name a setup in ``AuditEntry.target``: "setup 3", "setup:3".
SETUP_TARGET = re.compile(r"setup[ :](\d{1,12})")


@event.listens_for(AuditEntry, "before_insert")
def _team_of_target(_mapper, connection, target: AuditEntry) -> None:
    """An entry about a setup carries the setup's team when its writer named none (the worker names none)."""
    if target.team_id is not None:
        return
    found = SETUP_TARGET.fullmatch(target.target or "")
    if found:
        target.team_id = connection.scalar(select(Setup.team_id).where(Setup.id == int(found.group(1))))


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_audit_change(_mapper, _connection, target: AuditEntry) -> None:
    raise AuditLogIsAppendOnly(f"audit entry {target.id} cannot be changed or deleted")
