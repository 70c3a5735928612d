"""Who may do what: the signed-in user, role permissions, the login wall and security headers."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, abort, g, request, session
from flask_login import UserMixin, current_user

from core.models import Role, User
from portal import audit, params, sessions
from portal.db import get_session
from portal.extensions import login_manager

log = logging.getLogger(__name__)

# Permission -> roles holding it. Admins hold every permission.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "setup.view": frozenset(Role),
    "setup.edit": frozenset({Role.ADMIN, Role.OPERATOR}),
    "setup.plan": frozenset({Role.ADMIN, Role.OPERATOR}),
    "setup.apply": frozenset({Role.ADMIN, Role.OPERATOR}),
    "setup.teardown": frozenset({Role.ADMIN, Role.OPERATOR}),
    "pipeline.operate": frozenset({Role.ADMIN, Role.OPERATOR}),  # release, retry a stage, stop
    "production.approve": frozenset({Role.ADMIN, Role.APPROVER}),
    "users.manage": frozenset({Role.ADMIN}),
    "audit.view": frozenset({Role.ADMIN}),
}
# Endpoints reachable without signing in; the API authenticates with its own bearer tokens.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "health.healthz", "static"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
# The portal uses none of these browser features, so no page (or script injected into one) may either.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer", "microphone",
    "midi", "payment", "usb",
))
# A year, the value browsers' preload lists ask for; subdomains are left out, they are not the portal's.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


@dataclass(frozen=True)
class SignedInUser(UserMixin):
    """The user a request acts for: a plain value, so no ORM object outlives its session."""

    id: int
    username: str
    role: str

    @classmethod
    def from_model(cls, user: User) -> SignedInUser:
        return cls(id=user.id, username=user.username, role=user.role)

    def can(self, permission: str) -> bool:
        try:
            return Role(self.role) in PERMISSIONS[permission]
        except ValueError:
            return False


@login_manager.user_loader
def load_user(user_id: str) -> SignedInUser | None:
    number = params.number_or_none(user_id)
    if number is None:
        return None
    user = sessions.signed_in(get_session(), number)
    # A deactivated user is signed out on their next request, and so is a cookie whose session has ended.
    if user is None or not user.is_active:
        session.clear()
        return None
    return SignedInUser.from_model(user)


def acting_user() -> SignedInUser | None:
    """Return the API token's user or the session's user."""
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user
    return current_user if current_user.is_authenticated else None


def can(permission: str) -> bool:
    user = acting_user()
    return user is not None and user.can(permission)


def deny(permission: str, target: str = "") -> None:
    """Record the refused attempt, then abort with 403.

    :raise 403: always
    """
    session = get_session()
    session.rollback()
    audit.record(permission, audit.DENIED, target=target, message=f"{request.method} {request.path}")
    session.commit()
    abort(403)


def permission_required(permission: str) -> Callable:
    """Let the view run only for users holding ``permission``; audit and 403 the others."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not can(permission):
                deny(permission, target=request.path)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def reject_nul_input() -> None:
    """Refuse query strings and forms carrying NUL characters, which no field accepts and PostgreSQL cannot store.

    :raise 400: a value contains NUL
    """
    for source in (request.args, request.form):
        for values in source.listvalues():
            if any("\x00" in value for value in values):
                abort(400)


def require_login() -> Response | None:
    """Send anonymous visitors of any non-public page to the sign-in page."""
    endpoint = request.endpoint or ""
    # The API answers for itself: bearer tokens, and JSON 401/404/405 rather than a sign-in redirect.
    api = endpoint.startswith("api.") or request.path.startswith("/api/")
    if endpoint in PUBLIC_ENDPOINTS or api or current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


def set_security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    # Over HTTPS only (directly, or from a proxy PORTAL_PROXY_COUNT trusts): browsers ignore it over HTTP,
    # and make run's plain http://127.0.0.1:8000 must keep working.
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    if request.endpoint != "static":
        # Pages show account ids and one-time tokens: keep them out of shared and back-button caches.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.before_request(reject_nul_input)
    app.before_request(require_login)
    app.after_request(set_security_headers)
    app.jinja_env.globals["can"] = can
