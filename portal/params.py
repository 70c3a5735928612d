"""Values read from a request: whole numbers, and text no column can hold.

Every number (path segment, query string, hidden field, the session's user id) goes through
core.validation.parse_whole_number: ASCII digits only, short, in range. So '²' (which str.isdigit()
accepts and int() refuses), '٣' (which both accept) or a 5,000-digit number (int() raises over
4,300 digits) is a clear 400 naming the parameter, or a 404 for an address, never a ValueError or a
database overflow answered as 500. A query or form value holding NUL is a 400 as well.
"""
from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import BaseConverter

from core import validation as v


class BadParameter(BadRequest):
    """Request parameters break their rules: 400 naming each (portal.errors renders a page or JSON)."""

    def __init__(self, name: str, message: str, *, more: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = {name: [message], **(more or {})}


def number_or_none(raw: Any, minimum: int = 1, maximum: int = v.MAX_ID) -> int | None:
    """Return the number ``raw`` spells, or None when it spells none in range."""
    try:
        return v.parse_whole_number(raw, minimum, maximum)
    except v.InvalidValue:
        return None


def query_number(name: str, default: int, minimum: int, maximum: int, message: str | None = None) -> int:
    """Return ``?name=`` as a number (``default`` when absent).

    :raise BadParameter: it is not a whole number from ``minimum`` to ``maximum``
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return v.parse_whole_number(raw, minimum, maximum)
    except v.InvalidValue as err:
        raise BadParameter(name, message or err.messages[0]) from err


class IdConverter(BaseConverter):
    """``<int:...>`` in every route: ASCII digits of a bounded length, anything else is no such page.

    Werkzeug's own converter matches ``\\d+``, which takes '٣' as 3. A number past MAX_ID still
    reaches the view, which answers its own 404 ("There is no setup 99999999999.") without asking
    the database, whose integers it would overflow. Digits longer than any number read are a 404
    here: a ValidationError would send Werkzeug on to the path's other rules and, where one takes
    another method, make it answer 405 (``DELETE /api/v1/teams/<40 digits>``).
    """

    regex = r"[0-9]+"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = number_or_none(value, 0, 10**v.WHOLE_NUMBER_TEXT_MAX - 1)
        if number is None:
            raise NotFound(f"There is nothing with an id of {len(value)} digits: ids have at most "
                           f"{v.WHOLE_NUMBER_TEXT_MAX}.")
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


def refuse_unstorable_text() -> None:
    """Refuse a query or form value (or name) holding NUL: PostgreSQL cannot compare or store it.

    Werkzeug decodes both with replacement characters, so a lone surrogate cannot arrive this way;
    JSON bodies are checked where they are read (portal.api.body).

    :raise BadParameter: 400 naming the parameter
    """
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            for text in (name, value):
                if problem := v.unstorable(text):
                    raise BadParameter(v.safe_text(name), problem)


def init_app(app) -> None:
    """Install the id converter and the text check; call before any blueprint is registered.

    Rules bind their converter when they are added, and this check runs before every blueprint's own.
    """
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unstorable_text)
