"""The emulator as a WSGI app and as a threaded server: control API, git, throttling, moto."""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterable

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from emulator.apigw import gateway as api_endpoints
from emulator.codecommit import clone_urls, git_http
from emulator.control import PREFIX, create_control_app
from emulator.install import install
from emulator.stats import CallCountingMiddleware
from emulator.throttle import ThrottlingMiddleware

logger = logging.getLogger(__name__)


class EmulatorApp:
    """Route ``/_emulator/`` to the control API, git's requests to CodeCommit's git server and
    everything else, throttled, to moto."""

    def __init__(self) -> None:
        self.control = create_control_app()
        # moto's own /moto-api/ is a control surface too, so it is never throttled.
        exempt = (PREFIX, "/moto-api")
        # Counted before throttling: a throttled call is still a call the client made.
        self.aws = CallCountingMiddleware(
            ThrottlingMiddleware(DomainDispatcherApplication(create_backend_app), exempt_prefixes=exempt),
            exempt_prefixes=exempt,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if api_endpoints.handles(environ):
            # The application's own traffic (its endpoint lies under /_emulator/): no AWS API call.
            return api_endpoints.app(environ, start_response)
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self.control(environ, start_response)
        if git_http.handles(environ):
            # git is no AWS API call: neither counted nor throttled.
            return git_http.app(environ, start_response)
        return self.aws(environ, start_response)


def create_app() -> EmulatorApp:
    """Install the extensions into moto and return the emulator's WSGI app."""
    install()
    return EmulatorApp()


class EmulatorServer:
    """Serve the emulator from a background thread; port 0 picks a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = make_server(
            self.host, self.port, create_app(), threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self._server.server_port
        clone_urls.set_listening(self.endpoint_url)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator-server", daemon=True
        )
        self._thread.start()
        logger.info("emulator listening on %s", self.endpoint_url)

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmulatorServer.start() has not been called")
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread (used by ``python -m emulator``)."""
        self._server = make_server(
            self.host, self.port, create_app(), threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self._server.server_port
        clone_urls.set_listening(self.endpoint_url)
        logger.info("emulator listening on %s", self.endpoint_url)
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
