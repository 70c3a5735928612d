"""Who may do what: the signed-in user, role permissions, the login wall and security headers."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, abort, g, request, session
from flask_login import UserMixin, current_user
from sqlalchemy.orm import Session

from core import teams
from core.models import User
from portal import audit, params, sessions
from portal.db import get_session
from portal.extensions import login_manager

log = logging.getLogger(__name__)

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
class SignedInUser(teams.Actor, UserMixin):
    """The user a request acts for: a plain value read at the request's start (role and memberships), so a
    membership changed since takes effect on the next request, and no ORM object outlives its session."""

    @classmethod
    def from_model(cls, session: Session, user: User) -> SignedInUser:
        return cls(**vars(teams.actor_of(session, user)))

    def can(self, permission: str) -> bool:
        """Whether some team (or the admin role) gives this permission; a setup's own check is portal/access.py's."""
        return self.may_somewhere(permission)


@login_manager.user_loader
def load_user(user_id: str) -> SignedInUser | None:
    number = params.number_or_none(user_id)
    if number is None:
        return None
    found = sessions.signed_in(get_session(), number)
    # A deactivated user is signed out on their next request, and so is a cookie whose session has ended.
    if found is None or not found[0].is_active:
        session.clear()
        return None
    user, memberships = found
    return SignedInUser(id=user.id, username=user.username, role=str(user.role), teams=memberships)


def acting_user() -> SignedInUser | None:
    """Return the API token's user or the session's user."""
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user
    return current_user if current_user.is_authenticated else None


def can(permission: str, team_id: int | None = None) -> bool:
    """Whether the acting user holds ``permission`` on team ``team_id``'s setups; without a team, on the setup
    the request is about (portal/access.py notes it), else in some team. Pages use it to show only what works."""
    user = acting_user()
    if user is None:
        return False
    team_id = team_id if team_id is not None else g.get("setup_team_id")
    return user.may(permission, team_id) if team_id is not None else user.can(permission)


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
    """Let the view run only for users holding ``permission`` in some team (or admins); audit and 403 the others.

    For a view of one setup, portal.access.setup_required says which setup.
    """
    teams.check_permission(permission)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not can(permission):
                deny(permission, target=request.path)
            return view(*args, **kwargs)

        wrapped.access = AccessRule("any team", permission)  # type: ignore[attr-defined]
        return wrapped

    return decorator


@dataclass(frozen=True)
class AccessRule:
    """What a view asks of its user; every view carries one (tests/portal/test_access_matrix.py reads them).

    scope: "public" (no sign-in), "signed in" (any user, their own things), "any team" (``permission`` in
    some team), "setup" (``permission`` in the team of the setup the URL names).
    """

    scope: str
    permission: str = ""


def rule(scope: str) -> Callable:
    """Declare a view's rule when it needs no permission: ``@rule("public")`` or ``@rule("signed in")``."""
    if scope not in ("public", "signed in"):
        raise ValueError(scope)

    def decorator(view: Callable) -> Callable:
        view.access = AccessRule(scope)  # type: ignore[attr-defined]
        return view

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
