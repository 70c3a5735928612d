"""A function's log in CloudWatch Logs (moto's backend), written as Lambda writes it.

The group is the function's ``LoggingConfig.LogGroup`` or ``/aws/lambda/NAME``, created when
missing (as Lambda does when the execution role may ``logs:CreateLogGroup``); each execution
environment writes its own stream (``YYYY/MM/DD/[$LATEST]<hex>``). The process's output lines go
there as they come, the init phase's after ``INIT_START``, each event's between Lambda's own
``START`` / ``END`` / ``REPORT`` lines (JSON
``platform.*`` records when ``LoggingConfig.LogFormat`` is JSON).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone

from moto.logs.models import logs_backends

logger = logging.getLogger(__name__)

_create_lock = threading.Lock()


class FunctionLog:
    def __init__(self, account_id: str, region: str, group: str, stream: str, json_format: bool) -> None:
        self.account_id, self.region, self.group, self.stream = account_id, region, group, stream
        self.json_format = json_format
        with _create_lock:
            backend = logs_backends[account_id][region]
            if group not in backend.groups:
                backend.create_log_group(group, tags={})
            backend.ensure_log_stream(group, stream)

    def write(self, message: str) -> None:
        try:
            logs_backends[self.account_id][self.region].put_log_events(
                self.group, self.stream, [{"timestamp": int(time.time() * 1000), "message": message}])
        except Exception:  # noqa: BLE001 - the group was deleted, or a reset emptied the backend
            logger.debug("function log %s/%s: line lost", self.group, self.stream, exc_info=True)

    def init_start(self, runtime: str) -> None:
        # Lambda names its runtime build here; the emulator has none but the host's.
        version = runtime.replace(".", ":", 1) if runtime.startswith("provided.") else runtime
        self._platform("platform.initStart", f"INIT_START Runtime Version: {version}.emulator",
                       {"initializationType": "on-demand", "phase": "init", "runtimeVersion": version})

    def start(self, request_id: str, version: str) -> None:
        self._platform("platform.start", f"START RequestId: {request_id} Version: {version}",
                       {"requestId": request_id, "version": version})

    def end(self, request_id: str, status: str) -> None:
        self._platform("platform.runtimeDone", f"END RequestId: {request_id}",
                       {"requestId": request_id, "status": status})

    def report(self, request_id: str, duration_ms: float, memory_mb: int, init_ms: float | None) -> None:
        text = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {memory_mb} MB\t")
        metrics = {"durationMs": round(duration_ms, 2), "billedDurationMs": int(duration_ms) + 1,
                   "memorySizeMB": memory_mb}
        if init_ms is not None:
            text += f"Init Duration: {init_ms:.2f} ms\t"
            metrics["initDurationMs"] = round(init_ms, 2)
        self._platform("platform.report", text, {"requestId": request_id, "metrics": metrics})

    def _platform(self, kind: str, text: str, record: dict[str, object]) -> None:
        if not self.json_format:
            self.write(text)
            return
        moment = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.write(json.dumps({"time": moment, "type": kind, "record": record}))
