"""What a pipeline's live endpoint answers a poll from, read and rendered at most once per max age.

Each open page polls every 2 s with If-None-Match. Loading the setup, the deployment rule and the
snapshot for each of them was most of a poll's cost, so each process keeps, per setup, the few facts
the 304 rests on (deployed or not, the snapshot's ETag and how long it is watched) for
``LIVE_CACHE_SECONDS``. While an execution runs the worker reads the pipeline every few seconds and
each read is a new ETag, so most viewers' polls are then 200s: the rendered answer is kept as long,
so 2,000 viewers cost one rendering per read, not 2,000. The answer is the same for every viewer
(nothing in it depends on who asks). Signing in and access are still checked on every request: this
holds nothing about who asks.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import lifecycle
from core.models import PipelineSnapshot
from core.times import as_utc


@dataclass(frozen=True)
class LiveKey:
    deployed: bool
    snapshot_id: int | None  # None until the worker (or a first viewer) made the row
    etag: str
    watched_until: datetime | None


def etag_of(version: int, read_at: datetime | None) -> str:
    """The snapshot's version and read moment name an answer: unchanged, the page counts its age itself."""
    return f"{version}-{as_utc(read_at).timestamp() if read_at else 0}"


def read_key(session: Session, setup_id: int) -> LiveKey:
    if not lifecycle.is_deployed(session, setup_id):
        return LiveKey(False, None, "none", None)
    row = session.execute(select(PipelineSnapshot.id, PipelineSnapshot.version, PipelineSnapshot.read_at,
                                 PipelineSnapshot.watched_until)
                          .where(PipelineSnapshot.setup_id == setup_id)).first()
    if row is None:
        return LiveKey(True, None, "none", None)
    return LiveKey(True, row.id, etag_of(row.version, row.read_at), as_utc(row.watched_until))


class LiveKeys:
    """Per-process keys by setup id, each reused for ``max_age`` seconds (0: read every time)."""

    def __init__(self, max_age: float, clock=time.monotonic):
        self.max_age = max_age
        self._clock = clock
        self._keys: dict[int, tuple[float, LiveKey]] = {}
        self._bodies: dict[int, tuple[float, str, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, setup_id: int) -> LiveKey:
        now = self._clock()
        with self._lock:
            held = self._keys.get(setup_id)
        if held is not None and now - held[0] < self.max_age:
            return held[1]
        key = read_key(session, setup_id)
        if self.max_age > 0:
            with self._lock:
                self._keys[setup_id] = (now, key)
        return key

    def body(self, setup_id: int, etag: str, render: Callable[[], tuple[str, bytes]]) -> tuple[str, bytes]:
        """The answer for ``etag``, rendered by ``render`` (returning its own ETag and bytes) unless held."""
        now = self._clock()
        with self._lock:
            held = self._bodies.get(setup_id)
        if held is not None and held[1] == etag and now - held[0] < self.max_age:
            return held[1], held[2]
        rendered_etag, rendered = render()
        if self.max_age > 0:
            with self._lock:
                self._bodies[setup_id] = (now, rendered_etag, rendered)
        return rendered_etag, rendered

    def watched(self, setup_id: int, until: datetime) -> None:
        """This process renewed the interest: later polls within the max age need not try again."""
        with self._lock:
            held = self._keys.get(setup_id)
            if held is not None:
                self._keys[setup_id] = (held[0], replace(held[1], watched_until=until))

    def forget(self, setup_id: int) -> None:
        with self._lock:
            self._keys.pop(setup_id, None)
            self._bodies.pop(setup_id, None)


def of(app: Flask) -> LiveKeys:
    """The app's keys (one set per app, so each test's app starts empty)."""
    keys = app.extensions.get("pipeline_live_keys")
    if keys is None:
        keys = app.extensions.setdefault("pipeline_live_keys", LiveKeys(app.config["LIVE_CACHE_SECONDS"]))
    return keys
