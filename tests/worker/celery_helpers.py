"""Start real ``celery -A worker.celery_app worker`` processes (and a private Redis) for tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
from celery import Celery

from core.config import REPO_ROOT
from tests.waiting import free_port, wait_for


# A Redis database of the worker tests' own on the shared server (never the default 0).
SHARED_REDIS = "redis://127.0.0.1:6379/8"


def sender(broker_url: str) -> Celery:
    """A Celery client that sends tasks by name, as the portal does."""
    return Celery("test-sender", broker=broker_url, set_as_current=False)


def flush(broker_url: str) -> None:
    redis.Redis.from_url(broker_url).flushdb()


class WorkerProcess:
    """One ``celery worker`` in its own process group, logging to a file."""

    def __init__(self, log: Path, env: dict[str, str], concurrency: int = 2) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--loglevel=INFO",
             f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"lpp-test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=REPO_ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: "ready." in self.output(), 30, "celery worker to start", process=self.proc, output=self.output)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisServer:
    """A private redis-server on a free port, for the test that restarts Redis."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_for(lambda: _pings(redis.Redis.from_url(self.url)), 10, "redis-server to start", process=self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:  # not up yet
        return False


def emulator_worker_environment(emulator: str, database: str, broker: str) -> dict[str, str]:
    """A real worker's environment against the emulator, configured only as `make run` configures one."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID", "PORTAL_TEMPLATE_BASE_URL")}
    env.update({
        "AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "CELERY_BROKER_URL": broker, "PORTAL_DATABASE_URL": database, "PYTHONPATH": str(REPO_ROOT),
        # The emulator answers at once: poll it quickly.
        "PORTAL_POLL_STEADY_SECONDS": "0.3", "PORTAL_POLL_FAST_SECONDS": "0.1", "PORTAL_POLL_CALLS_PER_MINUTE": "1000",
    })
    return env
