"""Fixtures: one emulator per test session, reset before every test, boto3 client factory."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from emulator.server import EmulatorServer
from tests.emulator.helpers import DUMMY, REGION, account_credentials, control, make_client


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
