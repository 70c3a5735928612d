"""Local user accounts: name and password rules, creation, password checks."""
from __future__ import annotations

import logging
import re
import secrets

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core.models import Role, User
from core.validation import InvalidValue

log = logging.getLogger(__name__)

USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
PASSWORD_MIN, PASSWORD_MAX = 12, 256
ROLES = tuple(role.value for role in Role)
# Checked against when the username is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


DEFAULT_HASH_METHOD = "scrypt"


def hash_password(password: str) -> str:
    # PASSWORD_HASH_METHOD exists so tests can hash quickly; production keeps werkzeug's scrypt.
    method = current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD) if has_app_context() else \
        DEFAULT_HASH_METHOD
    return generate_password_hash(password, method=method)


class UsernameTaken(Exception):
    def __init__(self, username: str):
        super().__init__(f"The username {username} is already taken.")


def check_username(value: str) -> str:
    if not USERNAME.fullmatch(value or ""):
        raise InvalidValue("Use 1 to 64 letters, digits, '.', '_', '@' or '-'.")
    return value


def check_password(value: str, username: str = "") -> str:
    # Length is what makes a password strong; the upper bound keeps hashing cheap for attackers' input.
    if len(value) < PASSWORD_MIN:
        raise InvalidValue(f"Use at least {PASSWORD_MIN} characters.")
    if len(value) > PASSWORD_MAX:
        raise InvalidValue(f"Use at most {PASSWORD_MAX} characters.")
    if username and value.lower() == username.lower():
        raise InvalidValue("The password cannot be the username.")
    return value


def check_role(value: str) -> str:
    if value not in ROLES:
        raise InvalidValue("Choose admin, operator, approver or viewer.")
    return value


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create_user(session: Session, username: str, password: str, role: str) -> User:
    """Add a user (the caller commits).

    :raise InvalidValue: a rule is broken
    :raise UsernameTaken: the name exists
    """
    check_username(username)
    check_password(password, username)
    check_role(role)
    if find_user(session, username) is not None:
        raise UsernameTaken(username)
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    log.info("Created user %s with role %s", username, role)
    return user


def set_password(user: User, password: str) -> None:
    check_password(password, user.username)
    user.password_hash = hash_password(password)


def verify_password(user: User | None, password: str) -> bool:
    """Return whether ``password`` is the active user's; costs the same time when there is no user."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password) and user.is_active


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def generate_password() -> str:
    return secrets.token_urlsafe(18)
