"""One warm execution environment per function, replaced when its code or configuration changes.

Lambda keeps an environment warm between events and never lets one outlive a change of the
function (UpdateFunctionCode / UpdateFunctionConfiguration, or a stack update doing either): the
next event after a change gets a fresh environment. The emulator keeps exactly one environment
per function, so concurrent events to one function wait for each other instead of scaling out.
"""
from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from emulator.lambda_runtime.environment import EnvironmentClosed, ExecutionEnvironment
from emulator.lambda_runtime.function import FunctionConfig, config_of
from emulator.lambda_runtime.runtime_api import Result
from emulator.state import STATE

logger = logging.getLogger(__name__)

_ATTEMPTS = 3
_lock = threading.Lock()
_environments: dict[tuple[str, str, str], ExecutionEnvironment] = {}


def invoke(function: Any, payload: bytes) -> Result:
    """Run one event through moto's ``LambdaFunction`` ``function`` in its warm environment.

    :raise CodeUnavailable: the function's deployment package cannot be read.
    """
    _end_with_the_emulator()
    config = config_of(function)
    for _ in range(_ATTEMPTS - 1):
        try:
            return _current(config).invoke(payload)
        except EnvironmentClosed:
            continue  # a reset or a newer configuration ended it meanwhile: take the current one
    return _current(config).invoke(payload)


def _current(config: FunctionConfig) -> ExecutionEnvironment:
    key = (config.account_id, config.region, config.name)
    stale = None
    with _lock:
        environment = _environments.get(key)
        if environment is None or environment.config.fingerprint != config.fingerprint:
            stale = environment
            environment = _environments[key] = ExecutionEnvironment(config)
    if stale is not None:
        logger.info("function %s changed: its warm environment is replaced", config.name)
        # Off the request's path: it waits for the event the old environment may still be running.
        threading.Thread(target=stale.retire, name="lambda-retire", daemon=True).start()
    return environment


def environment_of(account_id: str, region: str, name: str) -> ExecutionEnvironment | None:
    """The function's current environment (tests and diagnostics read its output and starts)."""
    with _lock:
        return _environments.get((account_id, region, name))


def close_all() -> None:
    """End every environment's process (reset, exit)."""
    with _lock:
        environments = list(_environments.values())
        _environments.clear()
    for environment in environments:
        environment.close()


def _end_with_the_emulator() -> None:
    # Registered on first use (both registrations are idempotent): only a serving emulator runs functions.
    STATE.on_reset(close_all)
    atexit.unregister(close_all)
    atexit.register(close_all)
