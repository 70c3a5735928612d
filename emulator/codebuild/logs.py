"""A build's log in CloudWatch Logs (moto's backend), written as CodeBuild writes it.

The agent's own lines start ``[Container] YYYY/MM/DD HH:MM:SS.ffffff``; the commands' output
follows as it comes. The group is the project's ``logsConfig.cloudWatchLogs.groupName`` or
``/aws/codebuild/PROJECT``, created when missing (as CodeBuild does with logs:CreateLogGroup);
the stream is the build id's UUID, prefixed by the configured ``streamName`` if any.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any

from moto.logs.exceptions import ResourceAlreadyExistsException
from moto.logs.models import logs_backends

logger = logging.getLogger(__name__)

FLUSH_LINES = 50
FLUSH_SECONDS = 0.5


def container_line(message: str, at: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if at is None else at, timezone.utc)
    return f"[Container] {moment:%Y/%m/%d %H:%M:%S.%f} {message}"


class BuildLog:
    """Lines buffered and put to the build's stream in batches (GetLogEvents sees them within 0.5 s)."""

    def __init__(self, account_id: str, region: str, group: str, stream: str, enabled: bool = True) -> None:
        self.account_id, self.region, self.group, self.stream = account_id, region, group, stream
        self.enabled = enabled
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._flushed_at = time.time()
        if enabled:
            self._create()

    def _create(self) -> None:
        backend = logs_backends[self.account_id][self.region]
        if self.group not in backend.groups:
            try:
                backend.create_log_group(self.group, tags={})
            except ResourceAlreadyExistsException:
                pass  # another build of the project created it meanwhile
        backend.ensure_log_stream(self.group, self.stream)

    def container(self, message: str) -> None:
        """An agent line ([Container] ...), flushed at once: it marks progress a reader waits for."""
        self.write(container_line(message))
        self.flush()

    def write(self, line: str) -> None:
        with self._lock:
            self._pending.append({"timestamp": int(time.time() * 1000), "message": line})
            due = len(self._pending) >= FLUSH_LINES or time.time() - self._flushed_at >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush_due(self) -> None:
        """Flush when lines have waited FLUSH_SECONDS (a command that prints once, then works for long)."""
        with self._lock:
            due = bool(self._pending) and time.time() - self._flushed_at >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
            self._flushed_at = time.time()
            if not events or not self.enabled:
                return
            try:
                logs_backends[self.account_id][self.region].put_log_events(self.group, self.stream, events)
            except Exception:  # noqa: BLE001 - a reset emptied the backend under a running build
                logger.warning("build log %s/%s: %d lines lost", self.group, self.stream, len(events), exc_info=True)
