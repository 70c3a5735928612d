"""Error pages (and JSON errors under /api/): no input ends in a bare 500."""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from portal import audit
from portal.db import get_session
from portal.params import BadParameter

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood. Go back, reload the page and try again.",
    401: "Sign in first.",
    403: "Your role does not allow this. Ask an admin if you need it.",
    404: "There is nothing at this address.",
    405: "This address does not accept that kind of request.",
    409: "Someone else changed this while you were working on it. Reload the page and try again.",
    413: "The request is too large.",
    422: "Some of the values given are not valid.",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side. It is logged; try again, and tell an admin if it persists.",
}
TITLES = {400: "Bad request", 401: "Sign in first", 403: "Not allowed", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Too large", 422: "Invalid input",
          429: "Too many requests", 500: "Something went wrong"}
CSRF_MESSAGE = ("The form was sent without a valid security token (it may have expired). "
                "Reload the page and send it again.")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(code: int, message: str, headers=None):
    if wants_json():
        return jsonify(errors={"request": [message]}), code, headers or []
    try:
        page = render_template("errors/error.html", code=code, title=TITLES.get(code, "Error"), message=message)
    except Exception:  # noqa: BLE001 - the page itself failed (e.g. the database is down): say it plainly
        log.exception("Could not render the %s page", code)
        return message, code, [*(headers or []), ("Content-Type", "text/plain; charset=utf-8")]
    return page, code, headers or []


def handle_http_exception(err: HTTPException):
    code = err.code or 500
    # Allow on 405, WWW-Authenticate on 401: keep the headers that tell the client what to do.
    headers = [(k, v) for k, v in err.get_headers() if k.lower() in ("allow", "www-authenticate", "retry-after")]
    return error_response(code, MESSAGES.get(code, err.description or "Error"), headers)


def handle_bad_parameter(err: BadParameter):
    if wants_json():
        return jsonify(errors=err.errors), 400
    return error_response(400, err.message)


def handle_csrf_error(err: CSRFError):
    log.info("CSRF check failed on %s %s: %s", request.method, request.path, err.description)
    db = get_session()
    db.rollback()
    audit.record("csrf", audit.DENIED, target=request.path[:128], message=err.description or "")
    db.commit()
    return error_response(400, CSRF_MESSAGE)


def handle_stale_data(_err: StaleDataError):
    get_session().rollback()
    return error_response(409, MESSAGES[409])


def handle_unexpected(err: Exception):
    if isinstance(err, HTTPException):
        return handle_http_exception(err)
    log.exception("Unhandled error on %s %s", request.method, request.path)
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    return error_response(500, MESSAGES[500])


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(BadParameter, handle_bad_parameter)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(StaleDataError, handle_stale_data)
    app.register_error_handler(Exception, handle_unexpected)
