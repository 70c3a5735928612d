"""Access to one setup, and which setups a user sees: core/teams.py's rule applied to the request.

Every view of one setup carries ``@setup_required(permission)``: a setup of a team the user is not
in (or no setup at all) is 404, so its name never leaks; seen but not allowed is a 403, audited.
Every list filters with ``visible_setups()``. Operations name their setup: ``via="operation_id"``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Flask, g, jsonify, request
from sqlalchemy import ColumnElement, bindparam, false, select

from core import teams
from core.models import Operation, Setup, Team
from core.validation import MAX_ID
from portal.db import get_by_id, get_session
from portal.errors import error_response, wants_json
from portal.security import AccessRule, acting_user, deny


class NotVisible(Exception):
    """The thing does not exist for this user: absent, or a setup of a team they are not in."""

    def __init__(self, kind: str, ident: int):
        super().__init__(f"There is no {kind} {ident}.")
        self.kind = kind


def visible_setups(permission: str = "setup.view", team_column=Setup.team_id) -> ColumnElement[bool]:
    """A WHERE clause keeping the rows of teams whose setups the acting user holds ``permission`` on."""
    user = acting_user()
    return user.setups_where(permission, team_column) if user is not None else false()


def visible_teams() -> frozenset[int] | None:
    """The teams the acting user is in; None: every team (an admin)."""
    user = acting_user()
    return user.teams_with("setup.view") if user is not None else frozenset()


# Built once, as a poll asks one of them every time (building cost more than running).
TEAM_OF_SETUP = select(Setup.team_id).where(Setup.id == bindparam("ident"))
TEAM_OF_OPERATION = (select(Setup.team_id).join(Operation, Operation.setup_id == Setup.id)
                     .where(Operation.id == bindparam("ident")))


def team_of(kwargs: dict, via: str) -> int | None:
    """The team of the setup the URL names (directly, or through its operation); None: there is none.

    Only the team id is read (one small query): a live page's poll asks this every second.
    """
    ident = kwargs[via]
    if not 0 < ident <= MAX_ID:
        return None
    query = TEAM_OF_OPERATION if via == "operation_id" else TEAM_OF_SETUP
    return get_session().connection().execute(query, {"ident": ident}).scalar()


def check(team_id: int | None, permission: str, kind: str, ident: int) -> int:
    """The team of the setup, if the acting user may do ``permission`` to it.

    :raise NotVisible: no such setup, or one of a team the user is not in (a 404)
    :raise 403: the user sees it, but their role in its team does not hold ``permission`` (audited)
    """
    user = acting_user()
    if team_id is None or user is None or not user.may("setup.view", team_id):
        raise NotVisible(kind, ident)
    # Whatever this request audits is about this setup: its team's members see the entries.
    g.setup_team_id = team_id
    if not user.may(permission, team_id):
        deny(permission, target=request.path)
    return team_id


def setup_required(permission: str, via: str = "setup_id") -> Callable:
    """Run the view only when the acting user holds ``permission`` on the setup its URL names."""
    teams.check_permission(permission)
    kind = "operation" if via == "operation_id" else "setup"

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            check(team_of(kwargs, via), permission, kind, kwargs[via])
            return view(*args, **kwargs)

        wrapped.access = AccessRule("setup", permission)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def team_required(permission: str = "setup.view") -> Callable:
    """Run the view only for members of the team its URL names (``team_id``) holding ``permission``, and admins.

    A team the user is not in is a 404, as a setup is; ``teams.manage`` is the admins' alone (a 403).
    """
    teams.check_permission(permission)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user, team_id = acting_user(), kwargs["team_id"]
            if user is None or get_by_id(get_session(), Team, team_id) is None or not user.may("setup.view", team_id):
                raise NotVisible("team", team_id)
            # Whatever this request audits (a refusal among them) is about this team: its members see it.
            g.setup_team_id = team_id
            if not user.may(permission, team_id):
                deny(permission, target=request.path)
            return view(*args, **kwargs)

        wrapped.access = AccessRule("team", permission)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def handle_not_visible(err: NotVisible):
    if wants_json():
        return jsonify(errors={err.kind: [str(err)]}), 404
    return error_response(404, str(err))


def init_app(app: Flask) -> None:
    app.register_error_handler(NotVisible, handle_not_visible)
