"""The JSON body of an API request: bounded in size and depth, UTF-8, and only text that can be stored.

Flask's ``request.get_json`` lets a body nested 100,000 deep raise RecursionError (a 500), and hands
on lone surrogates ("\\ud800") that fail later, in the database or in every page showing the value.
Here the depth is counted before parsing, and every key and string is checked after it, so a bad
body is a 400 (413 when too large) naming what is wrong.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from core import validation as v
from portal.params import BadParameter

# A setup document is a few KiB (50 tags at most); a quarter MiB leaves room for escapes.
MAX_BODY_BYTES = 256 * 1024
# The deepest field of a setup document is stage_parameters.<stage>.<name>: three objects.
MAX_DEPTH = 8
NOT_AN_OBJECT = "Send a JSON object with Content-Type: application/json."
TOO_LARGE = f"The body is larger than {MAX_BODY_BYTES // 1024} KiB; a setup document is a few KiB."
TOO_DEEP = f"The JSON is nested more than {MAX_DEPTH} levels deep; a setup document needs three."
NOT_UTF8 = "Send the JSON as UTF-8."

# A JSON string, escapes included (the unrolled form runs in linear time), and anything but a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def nesting_depth(text: str, limit: int) -> int:
    """Return how deep ``text``'s arrays and objects nest, counting no further than ``limit + 1``."""
    depth = deepest = 0
    for char in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if char in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def unstorable_texts(body: Any) -> dict[str, list[str]]:
    """Name every key or string in ``body`` that no column, page or AWS call can hold (by its path)."""
    errors: dict[str, list[str]] = {}
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                field = f"{path}.{v.safe_text(key)}" if path else v.safe_text(key)
                if problem := v.unstorable(key):
                    errors.setdefault(field, []).append(f"The field's name: {problem}")
                pending.append((field, item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value))
        elif isinstance(value, str) and (problem := v.unstorable(value)):
            errors.setdefault(path or "body", []).append(problem)
    return errors


def read_object() -> dict[str, Any]:
    """Return the request's JSON object.

    :raise BadParameter: 400 when the body is no JSON object, too deep, not UTF-8 or holds unstorable text
    :raise RequestEntityTooLarge: 413 past MAX_CONTENT_LENGTH
    """
    if not request.is_json:
        raise BadParameter("body", NOT_AN_OBJECT)
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise BadParameter("body", TOO_LARGE)
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY_BYTES:  # a chunked body has no Content-Length to go by
        raise BadParameter("body", TOO_LARGE)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadParameter("body", NOT_UTF8) from err
    if nesting_depth(text, MAX_DEPTH) > MAX_DEPTH:
        raise BadParameter("body", TOO_DEEP)
    try:
        body = json.loads(text)
    except ValueError as err:
        raise BadParameter("body", NOT_AN_OBJECT) from err
    if not isinstance(body, dict):
        raise BadParameter("body", NOT_AN_OBJECT)
    if errors := unstorable_texts(body):
        first, *_ = errors
        raise BadParameter(first, errors[first][0], more=errors)
    return body
