"""One execution environment: the function's code unpacked, its bootstrap running, one event at a time.

As on Lambda: the environment starts on the first event (the init phase, at most ``INIT_SECONDS``,
ends when the runtime first asks for an event), then stays warm and serves one event after the
other; an event that outlives the function's ``Timeout`` fails with ``Sandbox.Timedout`` and the
environment is torn down, as is one whose process exits or whose init fails. The process gets the
environment variables Lambda defines, the function's own variables, and session credentials of the
function's execution role minted by the emulator's STS.
"""
from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from emulator.codecommit.clone_urls import base_url
from emulator.lambda_runtime import entrypoint
from emulator.lambda_runtime.function import RESERVED, FunctionConfig
from emulator.lambda_runtime.logs import FunctionLog
from emulator.lambda_runtime.runtime_api import Invocation, Result, RuntimeAPI

logger = logging.getLogger(__name__)

INIT_SECONDS = 10.0  # Lambda's limit on the init phase of an on-demand environment
STOP_GRACE_SECONDS = 2.0
# Lambda's defaults for the variables a function may override.
_UNRESERVED_DEFAULTS = {
    "LANG": "en_US.UTF-8",
    "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "TZ": ":UTC",
}


class EnvironmentClosed(Exception):
    """The environment was retired or closed before it could take the event; use the current one."""


class ExecutionEnvironment:
    """A warm process for one function configuration; ``invoke`` serialises events."""

    def __init__(self, config: FunctionConfig) -> None:
        self.config = config
        self.starts = 0  # cold starts so far, for tests and the logs
        self._lock = threading.Lock()
        self._api: RuntimeAPI | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._exited = threading.Event()
        self._task_root: Path | None = None
        self._log: FunctionLog | None = None
        self._closed = False

    @property
    def running(self) -> bool:
        """Whether a process is warm (none before the first event and after a teardown)."""
        return self._process is not None

    def invoke(self, payload: bytes) -> Result:
        """Run one event through the function and return what it answered.

        :raise EnvironmentClosed: the environment ended before the event could start.
        """
        request_id = str(uuid.uuid4())
        with self._lock:
            if self._closed:
                raise EnvironmentClosed(self.config.name)
            init_ms = None
            if self._process is None:
                started = time.monotonic()
                failure = self._start(request_id)
                if failure is not None:
                    self._teardown()
                    return failure
                init_ms = (time.monotonic() - started) * 1000
            assert self._api is not None and self._log is not None
            log, timeout = self._log, float(self.config.timeout)
            invocation = Invocation(request_id, payload, self.config.arn, deadline=time.time() + timeout)
            log.start(request_id, self.config.version)
            started = time.monotonic()
            self._api.submit(invocation)
            status = "success"
            if not invocation.done.wait(timeout):
                message = f"Task timed out after {timeout:.2f} seconds"
                invocation.finish(Result.error("Sandbox.Timedout", f"RequestId: {request_id} Error: {message}"))
                log.write(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {request_id} {message}")
                logger.info("function %s timed out after %.2f s; its environment is reset",
                            self.config.name, timeout)
                status = "timeout"
                self._teardown()
            elif self._exited.is_set():
                self._teardown()
            assert invocation.result is not None
            if status == "success" and invocation.result.failed:
                status = "error"
            log.end(request_id, status)
            log.report(request_id, (time.monotonic() - started) * 1000, self.config.memory_size, init_ms)
            return invocation.result

    def retire(self) -> None:
        """End the environment once the event it may be running is answered (its function changed)."""
        with self._lock:
            self._closed = True
            self._teardown()

    def close(self) -> None:
        """End the environment now; an event it is running fails (reset, exit)."""
        process = self._process
        if process is not None:
            _signal_group(process, signal.SIGKILL)
        with self._lock:
            self._closed = True
            self._teardown()

    # ---- init ----

    def _start(self, request_id: str) -> Result | None:
        """Unpack the code and start the bootstrap; a Result when the init phase failed."""
        self.starts += 1
        self._exited.clear()
        self._task_root = Path(tempfile.mkdtemp(prefix=f"lambda-{self.config.name[:40]}-"))
        try:
            _unpack(self.config.code, self._task_root)
            argv = entrypoint.command(self._task_root, self.config.architecture, self.config.runtime)
        except (zipfile.BadZipFile, entrypoint.EntrypointError) as err:
            error_type = getattr(err, "error_type", "Runtime.InvalidEntrypoint")
            logger.warning("function %s cannot start: %s", self.config.name, err)
            return Result.error(error_type, f"RequestId: {request_id} Error: {err}")
        stream = f"{datetime.now(timezone.utc):%Y/%m/%d}/[{self.config.version}]{uuid.uuid4().hex}"
        self._log = FunctionLog(self.config.account_id, self.config.region, self.config.log_group, stream,
                                json_format=self.config.log_format.upper() == "JSON")
        self._log.init_start(self.config.runtime)
        self._api = RuntimeAPI()
        self._process = subprocess.Popen(
            argv, cwd=self._task_root, env=self._variables(self._api.address, self._task_root, stream),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a teardown also ends what it started
        )
        threading.Thread(target=self._watch, args=(self._process, self._api, self._log), daemon=True,
                         name=f"lambda-{self.config.name[:30]}").start()
        logger.info("function %s: environment started (%s)", self.config.name, " ".join(argv))
        return self._wait_for_init(request_id)

    def _wait_for_init(self, request_id: str) -> Result | None:
        assert self._api is not None
        limit = time.monotonic() + INIT_SECONDS
        while time.monotonic() < limit:
            if self._api.init_failed.is_set():
                logger.info("function %s reported an init error", self.config.name)
                return self._api.init_error
            if self._api.polled.is_set():
                return None
            if self._exited.is_set():
                return Result.error("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited "
                                                         f"with error: exit status {self._process.returncode}")
            self._api.polled.wait(0.01)
        return Result.error("Sandbox.Timedout", f"RequestId: {request_id} Error: Init phase timed out after "
                                                f"{INIT_SECONDS:.2f} seconds")

    def _variables(self, runtime_api: str, task_root: Path, log_stream: str) -> dict[str, str]:
        config = self.config
        reserved = {
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "_HANDLER": config.handler,
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            # Lambda's are /var/task and /var/runtime; here the code lives in a directory of its own.
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(task_root),
            **_role_credentials(config),
        }
        variables = {**_UNRESERVED_DEFAULTS, "LD_LIBRARY_PATH": f"/lib64:/usr/lib64:{task_root}:{task_root}/lib:/opt/lib"}
        endpoint = base_url()
        if endpoint:
            # Not Lambda's: SDKs in the function reach the emulator instead of AWS.
            variables["AWS_ENDPOINT_URL"] = endpoint
        variables.update({k: v for k, v in config.variables.items() if k not in RESERVED})
        variables.update(reserved)
        return variables

    # ---- the process ----

    def _watch(self, process: subprocess.Popen[bytes], api: RuntimeAPI, log: FunctionLog) -> None:
        """Log the process's output; when it exits, fail the events it still held."""
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            log.write(line)
            logger.debug("function %s: %s", self.config.name, line)
        code = process.wait()
        self._exited.set()
        api.fail_all(lambda request_id: Result.error(
            "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"))

    def _teardown(self) -> None:
        process, api, root = self._process, self._api, self._task_root
        self._process = self._api = self._task_root = self._log = None
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if process is not None:
            _signal_group(process, signal.SIGKILL)  # anything the bootstrap left behind in its group
        if api is not None:
            api.close()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _unpack(code: bytes, task_root: Path) -> None:
    """Extract the package, keeping the file modes zip stores (the bootstrap must stay executable)."""
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        for info in archive.infolist():
            target = Path(archive.extract(info, task_root))  # extract() refuses ../ and absolute names
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                target.chmod(mode)


def _role_credentials(config: FunctionConfig) -> dict[str, str]:
    """Session credentials of the execution role, as Lambda hands them to the function."""
    role_account = config.role.split(":")[4] if config.role.count(":") >= 5 else config.account_id
    session = sts_backends[role_account][get_partition(config.region)].assume_role(
        region_name=config.region, role_session_name=config.name[:64], role_arn=config.role,
        policy="", duration=3600, external_id="")
    return {
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
    }
