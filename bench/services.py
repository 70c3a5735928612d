"""The processes the benchmark runs: the emulator, one Celery worker, and the Redis db they share.

Each runs as a real subprocess in its own process group, logging to a file, and is stopped by
its own pid only. The worker's environment points boto3 at the emulator through the standard
variables (AWS_ENDPOINT_URL, ...), exactly as an operator would configure it.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import redis

from core.config import REPO_ROOT
from emulator.client import control

logger = logging.getLogger(__name__)

# A Redis database of the benchmark's own (the portal uses 0, the worker tests 8).
BENCH_REDIS = "redis://127.0.0.1:6379/6"
REGION = "us-east-1"
# moto's default credentials act in its default account 123456789012, which the demo accounts'
# OrganizationAccountAccessRole trusts.
DEFAULT_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class ServiceError(RuntimeError):
    """A process the benchmark needs did not start or answer."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise ServiceError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def aws_env(endpoint: str) -> dict[str, str]:
    """The environment of a process that talks to ``endpoint`` (if any) with the default credentials."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "PORTAL_POLL_", "MOTO_")) and k != "CELERY_BROKER_URL"}
    env.update(DEFAULT_CREDENTIALS)
    env.update({"AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true", "PYTHONPATH": str(REPO_ROOT)})
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


class Process:
    """A subprocess in its own session (so its children stop with it), output to ``log``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        logger.info("started %s (pid %s), log %s", name, self.proc.pid, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the live processes of this one's group.

        A prefork worker's pool child is in its leader's group, so it is counted too.
        """
        total_ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # The command name may hold spaces: the fields start after its closing ")".
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended while we looked
            if int(fields[2]) == self.proc.pid:  # pgrp
                total_ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return total_ticks / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the process group (warm shutdown for Celery), SIGKILL it if it lingers."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %ss; killing it", self.name, timeout)
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


class Emulator:
    """``python -m emulator --demo --pace P`` on a free port, with its control API."""

    def __init__(self, pace: float, log: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = Process("emulator", [sys.executable, "-m", "emulator", "--port", str(self.port), "--demo",
                                            "--pace", str(pace)], aws_env(""), log)
        try:
            wait_for(self._answers, 60, "the emulator to answer")
            if self.control("pace")["seconds"] != pace:
                raise ServiceError(f"the emulator's pace is {self.control('pace')}, not {pace}")
        except BaseException:
            self.process.stop()
            raise

    def _answers(self) -> bool:
        if not self.process.alive():
            raise ServiceError(f"the emulator exited at start:\n{self.process.output()[-2000:]}")
        try:
            self.control("pace")
            return True
        except OSError:
            return False

    def control(self, path: str, body: dict[str, Any] | None = None, method: str | None = None) -> Any:
        return control(self.endpoint, path, body, method, timeout=30)

    def stats(self) -> dict[str, dict[str, int]]:
        return self.control("stats")["calls"]

    def reset_stats(self) -> None:
        self.control("stats", method="DELETE")

    def stop(self) -> None:
        self.process.stop()


def flush_redis(url: str = BENCH_REDIS) -> None:
    redis.Redis.from_url(url).flushdb()


class CeleryWorker:
    """One ``celery -A worker.celery_app worker`` with the given pool, ready to take tasks."""

    def __init__(self, endpoint: str, database_url: str, templates: Path, pool: str, log: Path,
                 broker: str = BENCH_REDIS, events: bool = False, dashboard: bool = True) -> None:
        env = aws_env(endpoint)
        # The polling mode reads no event queue (worker/settings.py events_enabled).
        env["PORTAL_EVENTS"] = "on" if events else "off"
        # No dashboard reads: their task reads up to 50 pipelines in one go (seconds with the one
        # process busy), which the deployed setups of earlier scenarios would make due mid-phase.
        # bench/dashboard_load.py and bench/pipeline_lag.py measure them.
        if not dashboard:
            env["PORTAL_PIPELINE_TICK_SECONDS"] = "3600"
        # Nothing overrides the worker's polling cadence (PORTAL_POLL_* were dropped above):
        # the benchmark measures the production defaults.
        env.update({"CELERY_BROKER_URL": broker, "PORTAL_DATABASE_URL": database_url,
                    "PORTAL_TEMPLATES_DIR": str(templates)})
        args = [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--loglevel", "INFO",
                "--pool", pool, "--concurrency", "1", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "-n", f"bench-{os.getpid()}@%h"]
        self.pool, self.events = pool, events
        self.process = Process(f"celery worker ({pool})", args, env, log)
        try:
            wait_for(self._ready, 60, "the celery worker to start")
        except BaseException:
            self.process.stop()
            raise

    def _ready(self) -> bool:
        if not self.process.alive():
            raise ServiceError(f"the celery worker exited at start:\n{self.process.output()[-3000:]}")
        return "ready." in self.process.output()

    def stop(self) -> None:
        self.process.stop()
