"""The floor the dashboard benchmark measures the portal against: the live endpoint's contract and nothing else.

``gunicorn bench.floor_app:app`` answers any path as the live endpoint would when nothing changed: a 304
to an If-None-Match naming its one ETag, else a small JSON body with it. No sign-in, database or
template: the same gunicorn and the same Locust viewers against it measure what the server process
model and the load tool cost by themselves, so the portal's figures beside it show what the portal adds.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

ETAG = '"floor-1"'
BODY = b'{"state": "InProgress", "stages": []}\n'


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    if ETAG in environ.get("HTTP_IF_NONE_MATCH", ""):
        start_response("304 Not Modified", [("ETag", ETAG)])
        return [b""]
    start_response("200 OK", [("ETag", ETAG), ("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]
