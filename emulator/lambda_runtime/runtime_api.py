"""The Lambda Runtime API (version 2018-06-01) one execution environment's process talks to.

A custom runtime's ``bootstrap`` polls ``GET /2018-06-01/runtime/invocation/next`` (which blocks
until an event arrives) and answers each event with ``POST .../invocation/ID/response`` or
``.../invocation/ID/error``; a runtime that cannot start posts ``/runtime/init/error``. As on AWS the
API listens on the loopback interface only, at the address the process finds in
``AWS_LAMBDA_RUNTIME_API``; every environment has its own, so one function's process can never
take another's events.
"""
from __future__ import annotations

import json
import logging
import re
import socket
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

logger = logging.getLogger(__name__)

VERSION = "2018-06-01"
# Lambda's limit on a synchronous invocation's response payload (6 MB).
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"

_INVOCATION = re.compile(rf"^/{VERSION}/runtime/invocation/(?P<id>[^/]+)/(?P<what>response|error)$")


@dataclass(frozen=True)
class Result:
    """What an invocation produced: the function's payload, or an error document and its type."""

    payload: bytes
    error_type: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_type is not None

    @classmethod
    def error(cls, error_type: str, message: str) -> Result:
        document = {"errorMessage": message, "errorType": error_type}
        return cls(json.dumps(document).encode(), error_type)


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    function_arn: str
    deadline: float  # epoch seconds
    trace_id: str = ""
    result: Result | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def finish(self, result: Result) -> bool:
        """Record the first result only: a late answer after a timeout changes nothing."""
        if self.done.is_set():
            return False
        self.result = result
        self.done.set()
        return True


class RuntimeAPI:
    """The runtime API of one execution environment, served from a thread on 127.0.0.1."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: deque[Invocation] = deque()
        self._handed_out: dict[str, Invocation] = {}
        self._closed = False
        self.polled = threading.Event()  # the runtime finished its init: it asked for an event
        self.init_error: Result | None = None
        self.init_failed = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: close() waits for the loop to notice, on the path of a cold start.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="lambda-runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """``host:port``, as ``AWS_LAMBDA_RUNTIME_API`` carries it."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def submit(self, invocation: Invocation) -> None:
        with self._cond:
            self._pending.append(invocation)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop serving; a runtime still waiting for an event gets a 500, which tells it to exit."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # ---- called by the request handler ----

    def next_invocation(self) -> Invocation | None:
        self.polled.set()
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            invocation = self._pending.popleft()
            self._handed_out[invocation.request_id] = invocation
            return invocation

    def answer(self, request_id: str, result: Result) -> bool:
        with self._cond:
            invocation = self._handed_out.pop(request_id, None)
        return invocation is not None and invocation.finish(result)

    def fail_all(self, result_for: Callable[[str], Result]) -> None:
        """Fail every event not answered yet (the process is gone)."""
        with self._cond:
            waiting = list(self._handed_out.values()) + list(self._pending)
            self._handed_out.clear()
            self._pending.clear()
        for invocation in waiting:
            invocation.finish(result_for(invocation.request_id))

    def fail_init(self, result: Result) -> None:
        self.init_error = result
        self.init_failed.set()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError)):
            # The runtime's process was ended (teardown, timeout) while it waited for an answer.
            logger.debug("runtime API: %s closed its connection before the answer", client_address)
            return
        super().handle_error(request, client_address)


def _handler_for(api: RuntimeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # The runtime keeps one connection open for its whole life, as it does on AWS.
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes; without this, Nagle and the client's delayed ACK
            # hold the body back ~40 ms on every event.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("runtime API: " + format, *args)

        def do_GET(self) -> None:
            if self.path != f"/{VERSION}/runtime/invocation/next":
                self._send(404, {"errorMessage": f"Unknown path {self.path}", "errorType": "InvalidRequest"})
                return
            invocation = api.next_invocation()
            if invocation is None:
                self._send(500, {"errorMessage": "The execution environment is shutting down",
                                 "errorType": "Runtime.ExitError"})
                return
            body = invocation.payload
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(invocation.deadline * 1000)))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", invocation.function_arn)
            self.send_header("Lambda-Runtime-Trace-Id", invocation.trace_id)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == f"/{VERSION}/runtime/init/error":
                api.fail_init(_error_result(body, self.headers.get(ERROR_TYPE_HEADER)))
                self._send(202, {"status": "OK"})
                return
            match = _INVOCATION.match(self.path)
            if match is None:
                self._send(404, {"errorMessage": f"Unknown path {self.path}", "errorType": "InvalidRequest"})
                return
            if match["what"] == "response":
                if len(body) > MAX_RESPONSE_BYTES:
                    result = Result.error("Function.ResponseSizeTooLarge",
                                          f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                                          f"payload size ({MAX_RESPONSE_BYTES} bytes).")
                    api.answer(match["id"], result)
                    self._send(413, {"errorMessage": "Exceeded maximum allowed payload size",
                                     "errorType": "RequestEntityTooLarge"})
                    return
                result = Result(body)
            else:
                result = _error_result(body, self.headers.get(ERROR_TYPE_HEADER))
            if not api.answer(match["id"], result):
                self._send(400, {"errorMessage": f"Invalid request ID: {match['id']}",
                                 "errorType": "InvalidRequestID"})
                return
            self._send(202, {"status": "OK"})

        def _send(self, status: int, document: dict[str, str]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _error_result(body: bytes, error_type: str | None) -> Result:
    """The runtime's error document, typed by its header (or by the document when the header is absent)."""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    kind = error_type or str(document.get("errorType") or "Unhandled")
    return Result(body or json.dumps({"errorType": kind}).encode(), kind)

