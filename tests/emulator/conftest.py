"""Fixtures: one emulator per test session, reset before every test, boto3 client factory."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from emulator.codepipeline import jobs
from emulator.server import EmulatorServer
from tests.emulator.deploy_action_helpers import PassThroughBuild
from tests.emulator.helpers import BUILD_ACCOUNT, DUMMY, REGION, account_credentials, control, make_client


@pytest.fixture(scope="session")
def emulator() -> Iterator[str]:
    """Start the emulator on a free loopback port; yield its endpoint URL."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", DUMMY)
        env.setenv("AWS_SECRET_ACCESS_KEY", DUMMY)
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        env.delenv("AWS_PROFILE", raising=False)
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        env.delenv("MOTO_ACCOUNT_ID", raising=False)
        server = EmulatorServer()
        server.start()
        try:
            yield server.endpoint_url
        finally:
            server.stop()


@pytest.fixture(autouse=True)
def _reset_emulator(emulator: str) -> None:
    control(emulator, "reset", {})


@pytest.fixture
def client(emulator: str) -> Callable[..., Any]:
    """``client("cloudformation")`` or ``client("s3", account="222222222222")``."""
    cache: dict[str, dict[str, str]] = {}

    def factory(service: str, account: str | None = None, **kwargs: Any) -> Any:
        credentials = None
        if account is not None:
            if account not in cache:
                cache[account] = account_credentials(emulator, account)
            credentials = cache[account]
        return make_client(emulator, service, credentials, **kwargs)

    return factory


@pytest.fixture
def timed_actions(emulator: str, _reset_emulator: None) -> None:
    """Pipeline actions as timed stand-ins, for tests about executions rather than the actions' work
    (a deploy action deploys for real otherwise, and fails without a build output to deploy)."""
    control(emulator, "actions", {"simulate": True})


@pytest.fixture
def passthrough_builds(emulator: str) -> Iterator[list[PassThroughBuild]]:
    """Every CodeBuild action copies its source to its output; yields the started builds."""
    s3 = make_client(emulator, "s3", account_credentials(emulator, BUILD_ACCOUNT), retries=3)
    started: list[PassThroughBuild] = []

    def starter(context: jobs.JobContext) -> PassThroughBuild:
        build = PassThroughBuild(context, s3)
        started.append(build)
        return build

    previous = jobs._STARTERS.get(("Build", "CodeBuild"))
    jobs.register("Build", "CodeBuild", starter)
    yield started
    if previous is None:
        jobs._STARTERS.pop(("Build", "CodeBuild"), None)
    else:
        jobs.register("Build", "CodeBuild", previous)
