"""Whole numbers read from a request: path segments, query strings, hidden form fields, the session.

Every one goes through core.validation.parse_whole_number: ASCII digits only, short, in range. So
'²' (which str.isdigit() accepts and int() refuses), '٣' (which both accept) or a 5,000-digit number
(int() raises over 4,300 digits) is a clear 400 naming the parameter, or a 404 for an address,
never a ValueError or a database overflow answered as 500.
"""
from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter, ValidationError

from core import validation as v


class BadParameter(BadRequest):
    """A request parameter breaks its rule: 400 naming it (portal.errors renders page or JSON)."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.parameter, self.message = name, message


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
    the database, whose integers it would overflow.
    """

    regex = r"[0-9]+"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = number_or_none(value, 0, 10**v.WHOLE_NUMBER_TEXT_MAX - 1)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


def init_app(app) -> None:
    """Install the id converter; call before any blueprint is registered (rules bind it when added)."""
    app.url_map.converters["int"] = IdConverter
