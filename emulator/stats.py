"""Count the AWS calls the emulator answers, per service and action.

Benchmarks read these counts to compare clients (the worker, the AWS CLI) by the calls they make,
measured at the server so that every client is counted the same way.
"""
from __future__ import annotations

import io
import threading
from collections import Counter
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from emulator.state import STATE
from emulator.throttle import signing_service

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_lock = threading.Lock()
_calls: Counter[tuple[str, str]] = Counter()


def reset() -> None:
    with _lock:
        _calls.clear()


STATE.on_reset(reset)


def snapshot() -> dict[str, dict[str, int]]:
    """Return ``{service: {action: count}}``."""
    with _lock:
        result: dict[str, dict[str, int]] = {}
        for (service, action), count in sorted(_calls.items()):
            result.setdefault(service, {})[action] = count
        return result


def action_of(environ: dict[str, Any]) -> str:
    """Name the API action of a request, restoring the body it had to read for query protocols."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]  # awsJson: "CodePipeline_20150709.GetPipelineState"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # moto reads the body after us, so it gets a fresh stream over the same bytes.
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        if action:
            return action
    query_action = parse_qs(environ.get("QUERY_STRING", "")).get("Action", [""])[0]
    return query_action or f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}"


class CallCountingMiddleware:
    """Count every call that reaches the wrapped app, except those under ``exempt_prefixes``."""

    def __init__(self, app: WSGIApp, exempt_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.exempt_prefixes = exempt_prefixes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(self.exempt_prefixes):
            key = (signing_service(environ) or "unsigned", action_of(environ))
            with _lock:
                _calls[key] += 1
        return self.app(environ, start_response)
