"""Fixtures for the worker: the emulator over HTTP, a real database, and a broker-free driver.

Task functions are called directly (not Celery's eager mode); the ``driver`` fixture stands in
for the broker's countdowns: it collects the follow-ups a task schedules and runs each when due.
"""
from __future__ import annotations

import heapq
import logging
import os
import io
import itertools
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from core.db import make_engine, make_session_factory
from core.models import Operation, OperationKind, OperationStatus, Setup
from emulator.client import control
from emulator.server import EmulatorServer
from core.config import REPO_ROOT
from tests.accounts import BUILD, DEFAULT_ACCOUNT, PRODUCTION, STAGING  # noqa: F401 - re-exported
from tests.worker import celery_helpers
from worker import context, db, tasks
from worker.lifecycle import OperationRefused
from worker.monitor import Follow

REGION = "us-east-1"
BOOTSTRAP_ROLE = "OrganizationAccountAccessRole"


class CloudFormationCalls:
    """WSGI wrapper counting CloudFormation API calls per stack, whichever process makes them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[tuple[float, str, str]] = []  # (time, action, stack name or id)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded") \
                and "cloudformation" in environ.get("HTTP_AUTHORIZATION", ""):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            form = urllib.parse.parse_qs(body.decode())
            stack = form.get("StackName", [""])[0]
            with self._lock:
                self.calls.append((time.time(), form.get("Action", [""])[0], stack))
        return self.app(environ, start_response)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[tuple[str, CloudFormationCalls]]:
    """The project's emulator on a free loopback port, its CloudFormation calls counted."""
    import emulator.server as emulator_server_module

    counter: list[CloudFormationCalls] = []
    original = emulator_server_module.create_app
    # One access-log line per AWS call costs time and buries the failures worth reading.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def counted_app() -> CloudFormationCalls:
        counter.append(CloudFormationCalls(original()))
        return counter[0]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emulator_server_module, "create_app", counted_app)
        server = EmulatorServer()
        server.start()
    try:
        yield server.endpoint_url, counter[0]
    finally:
        server.stop()


@pytest.fixture(scope="session")
def emulator(emulator_server: tuple[str, CloudFormationCalls]) -> str:
    return emulator_server[0]


@pytest.fixture
def cfn_calls(emulator_server: tuple[str, CloudFormationCalls]) -> CloudFormationCalls:
    emulator_server[1].reset()
    return emulator_server[1]


@pytest.fixture
def aws_env(emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3's standard configuration pointed at a freshly reset emulator with the demo accounts."""
    for name, value in {
        "AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
        "PORTAL_AWS_MAX_ATTEMPTS": "10",
        # The emulator is fast; poll it quickly (the cadence test measures the real defaults).
        "PORTAL_POLL_STEADY_SECONDS": "0.3", "PORTAL_POLL_FAST_SECONDS": "0.1",
        "PORTAL_POLL_CALLS_PER_MINUTE": "1000",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID", "PORTAL_TEMPLATE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    control(emulator, "reset", {})
    control(emulator, "demo", {})
    context.clear_cache()
    yield emulator
    context.clear_cache()


@pytest.fixture
def timed_actions(aws_env: str) -> str:
    """Pipeline actions as timed stand-ins, for tests of what the worker reads of executions rather
    than of the actions' work (a deploy action deploys for real otherwise, and fails without a build)."""
    control(aws_env, "actions", {"simulate": True})
    return aws_env


@pytest.fixture
def worker_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The worker pointed at the test database; yields a session factory for assertions.

    SQLite only, unless the test is marked both_databases (tests/conftest.py).
    """
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    db.dispose_all()
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()
    db.dispose_all()


def account_client(service: str, account_id: str, **config: Any) -> Any:
    """A client acting in a demo account, as its admin would (through the bootstrap role)."""
    sts = boto3.client("sts", region_name=REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{BOOTSTRAP_ROLE}",
                            RoleSessionName="test-admin")["Credentials"]
    return boto3.client(service, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                        config=Config(retries={"mode": "standard", "max_attempts": 10}, **config))


def assume_role_access(*accounts: str) -> dict[str, Any]:
    return {a: {"method": "assume_role", "role_name": BOOTSTRAP_ROLE} for a in accounts}


@pytest.fixture
def make_setup(worker_db: Any) -> Callable[..., int]:
    counter = itertools.count(1)

    def make(**fields: Any) -> int:
        values: dict[str, Any] = {
            "name": f"app{next(counter)}-api", "build_account_id": BUILD, "staging_account_id": STAGING,
            "production_account_id": PRODUCTION, "region": REGION, "branch": "main",
            "approval_email": "approver@example.com", "tags": {"team": "payments"},
            "access": assume_role_access(BUILD, STAGING, PRODUCTION), "status": "ready",
        }
        values.update(fields)
        with worker_db() as session:
            setup = Setup(**values)
            session.add(setup)
            session.commit()
            return setup.id

    return make


@pytest.fixture
def make_operation(worker_db: Any) -> Callable[..., int]:
    def make(setup_id: int, kind: OperationKind, plan_id: int | None = None, user: str = "alice") -> int:
        with worker_db() as session:
            operation = Operation(setup_id=setup_id, kind=kind.value, requested_by=user, plan_id=plan_id)
            session.add(operation)
            session.commit()
            return operation.id

    return make


class Driver:
    """Runs scheduled follow-ups when due, in due order, like a broker with countdowns would.

    Follow-ups may also come from another thread (an event reader handing a stack to its
    monitor); one due sooner than the one being waited for wakes the driver.
    """

    def __init__(self, factory: Any) -> None:
        self.factory = factory
        self.queue: list[tuple[float, int, Follow]] = []
        self.counter = itertools.count()
        self.ran = 0
        self.changed = threading.Condition()

    def schedule(self, follow: Follow) -> None:
        with self.changed:
            heapq.heappush(self.queue, (time.monotonic() + follow.delay, next(self.counter), follow))
            self.changed.notify_all()

    def run(self, operation_id: int, timeout: float = 60.0, until: Callable[[Operation], bool] | None = None) -> Operation:
        """Run follow-ups until the operation finishes (or ``until`` holds); return it."""
        deadline = time.monotonic() + timeout
        done = until or (lambda op: OperationStatus(op.status).is_terminal)
        while True:
            operation = self.operation(operation_id)
            with self.changed:
                if done(operation) and (until is not None or not self.queue):
                    return operation
                if not self.queue:
                    raise AssertionError(f"operation {operation_id} is {operation.status} with nothing scheduled")
                if time.monotonic() > deadline:
                    raise AssertionError(f"operation {operation_id} still {operation.status} after {timeout}s")
                wait = self.queue[0][0] - time.monotonic()
                if wait > 0:
                    self.changed.wait(wait)
                    continue
                _, _, follow = heapq.heappop(self.queue)
            tasks.follow_stack(follow.record_id, follow.token)
            self.ran += 1

    def operation(self, operation_id: int) -> Operation:
        with self.factory() as session:
            operation = session.get(Operation, operation_id)
            assert operation is not None
            operation.stacks  # noqa: B018 - load the records before the session closes
            for record in operation.stacks:
                record.events  # noqa: B018
            return operation


@pytest.fixture
def driver(worker_db: Any, monkeypatch: pytest.MonkeyPatch) -> Driver:
    runner = Driver(worker_db)
    monkeypatch.setattr(tasks, "scheduler", runner.schedule)
    return runner


@pytest.fixture
def run_plan(make_operation: Callable[..., int], driver: Driver) -> Callable[..., Operation]:
    """Plan a setup through the task function and the driver; return the finished plan."""
    def run(setup_id: int, user: str = "alice") -> Operation:
        plan_id = make_operation(setup_id, OperationKind.PLAN, user=user)
        tasks.plan_setup(plan_id)
        return driver.run(plan_id)

    return run


@pytest.fixture
def run_apply(make_operation: Callable[..., int], driver: Driver) -> Callable[..., Operation]:
    def run(setup_id: int, plan_id: int, timeout: float = 60.0) -> Operation:
        apply_id = make_operation(setup_id, OperationKind.APPLY, plan_id=plan_id)
        try:
            tasks.apply_setup(apply_id)
        except OperationRefused:
            # A refused apply marks itself failed, then re-raises; the test reads the failure.
            # Anything else (a NameError, a boto error) is a bug and fails the test.
            return driver.operation(apply_id)
        return driver.run(apply_id, timeout=timeout)

    return run


def by_stack(operation: Operation) -> dict[str, Any]:
    """The operation's stack records keyed "account/stack"."""
    return {f"{r.account_id}/{r.stack_name}": r for r in operation.stacks}


@pytest.fixture
def worker_env(aws_env: str, worker_db: Any) -> dict[str, str]:
    """The environment of a worker process: the test's AWS and database settings, quick recovery."""
    env = dict(os.environ)
    env.update({
        "CELERY_BROKER_URL": celery_helpers.SHARED_REDIS, "PYTHONPATH": str(REPO_ROOT),
        "PORTAL_LEASE_GRACE_SECONDS": "1", "PORTAL_SWEEP_SECONDS": "2",
    })
    celery_helpers.flush(celery_helpers.SHARED_REDIS)
    yield env
    celery_helpers.flush(celery_helpers.SHARED_REDIS)
