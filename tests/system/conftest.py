"""The whole system for the browser journeys: the emulator, a real Celery worker, the portal, Chromium.

Every fixture is module-scoped: a journey's tests share one system. Each module names its own Redis
database in ``BROKER``, so two journeys never read each other's messages.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from playwright.sync_api import Page

from core.db import upgrade
from emulator.client import control
from emulator.server import EmulatorServer
from tests.portal.helpers import PASSWORD
from tests.portal.live import chromium_page, serve_system_portal
from tests.worker.celery_helpers import WorkerProcess, emulator_worker_environment

PACE = 0.05  # the emulator reveals one stack event every 50 ms


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server = EmulatorServer()
    server.start()
    control(server.endpoint_url, "reset", {})
    control(server.endpoint_url, "demo", {})
    control(server.endpoint_url, "pace", {"seconds": PACE})
    yield server.endpoint_url
    server.stop()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite file shared by the portal and the worker, as `make run` shares one."""
    url = f"sqlite:///{tmp_path_factory.mktemp('system') / 'portal.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="module")
def broker(request: pytest.FixtureRequest) -> Iterator[str]:
    """The module's own database on the local Redis (its ``BROKER``), emptied before and after."""
    url: str = request.module.BROKER
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def worker(emulator: str, database: str, broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """A real Celery worker, configured only through the environment, as `make run` starts it."""
    process = WorkerProcess(tmp_path_factory.mktemp("worker") / "worker.log",
                            emulator_worker_environment(emulator, database, broker))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def portal_url(database: str, broker: str) -> Iterator[str]:
    with serve_system_portal(database, broker) as url:
        yield url


@pytest.fixture
def page(portal_url: str, worker: WorkerProcess) -> Iterator[Page]:
    """Chromium signed in as the portal's operator; fails the test if the worker logged a traceback."""
    with chromium_page(portal_url) as page:
        page.goto("/login")
        page.fill("#username", "olivia")
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Sign in')")
        yield page
    assert "Traceback" not in worker.output(), worker.output()[-4000:]
