"""The one way tests wait for something another thread or process does: poll with a deadline.

A bare ``time.sleep`` guesses how long the other side takes; it is too short on a busy machine and
too long everywhere else. Poll instead, and fail with what was awaited when the deadline passes.
Also the free port the servers that tests start (gunicorn, the emulator, redis-server) listen on.
"""
from __future__ import annotations

import socket
import subprocess
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, what: str, *, interval: float = 0.05,
             process: subprocess.Popen | None = None, output: Callable[[], str] | None = None) -> T:
    """Call ``predicate`` until it returns something truthy and return that.

    :param what: names the awaited thing in the failure ("the build stack to be half way")
    :param process: fail at once if this process exits first (waiting longer cannot help)
    :param output: text worth reading when the wait fails, e.g. the process's log
    :raise AssertionError: the deadline passed, or ``process`` exited
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited ({process.returncode}) while waiting for {what}"
                                 + _detail(output))
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}" + _detail(output))
        time.sleep(interval)


def _detail(output: Callable[[], str] | None) -> str:
    return f":\n{output()}" if output is not None else ""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
