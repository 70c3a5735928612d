"""The emulator's one clock thread: it runs callbacks at their moment, earliest first.

The services are lazy (a stack's events are scheduled ahead and revealed when due, a pipeline
catches up when read), but AWS *pushes* their state changes to EventBridge when they happen,
whether anybody reads or not. This clock is what pushes: a CloudFormation event is delivered at
its timestamp, a timed pipeline action is caught up at its end. Callbacks run one at a time, in
(moment, order of scheduling), outside the clock's lock, so one may schedule another.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Callable

logger = logging.getLogger(__name__)


class Clock:
    def __init__(self) -> None:
        self._queue: list[tuple[float, int, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._generation = 0  # a reset drops what was scheduled before it, even a callback in flight
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def at(self, moment: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` at epoch second ``moment`` (at once if it has passed)."""
        with self._changed:
            heapq.heappush(self._queue, (moment, next(self._order), self._generation, callback))
            self._start()
            self._changed.notify()

    def clear(self) -> None:
        """Forget everything scheduled (POST /_emulator/reset)."""
        with self._changed:
            self._queue.clear()
            self._generation += 1

    def pending(self) -> int:
        with self._changed:
            return len(self._queue)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="emulator-clock", daemon=True)
            self._thread.start()

    def _next(self) -> Callable[[], None]:
        with self._changed:
            while True:
                if self._queue:
                    wait = self._queue[0][0] - time.time()
                    if wait <= 0:
                        _, _, generation, callback = heapq.heappop(self._queue)
                        if generation == self._generation:
                            return callback
                        continue
                    self._changed.wait(wait)
                else:
                    self._changed.wait()

    def _run(self) -> None:
        while True:
            callback = self._next()
            try:
                callback()
            except Exception:  # one failing delivery must not stop every later one
                logger.exception("clock callback %r failed", callback)


CLOCK = Clock()
