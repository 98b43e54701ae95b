"""The local AWS: moto's server, with DynamoDB's one-request-at-a-time guarantee added.

DynamoDB applies each conditional write and each transaction atomically: two transactions that
both reserve one e-mail can never both succeed. moto's threaded server checks the conditions and
then applies the writes without a lock, so two requests arriving together can both pass their
checks. Serialising DynamoDB requests restores the guarantee the services are written against
(other services keep moto's own concurrency). Every local server starts here: `make run`, the
tests and the benchmarks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SERIALISED_TARGETS = ("DynamoDB_", "DynamoDBStreams_")


class SerialisedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, answered in full before the next."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(_SERIALISED_TARGETS):
            return self._app(environ, start_response)
        with self._lock:
            # Drain the body inside the lock: moto computes it before returning, but a lazy
            # iterable must not escape the critical section.
            return list(self._app(environ, start_response))


class LocalAwsServer(ThreadedMotoServer):
    """moto's threaded server on the loopback interface, with `SerialisedDynamoDB` in front."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)

    def _server_entry(self) -> None:
        app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def port(self) -> int:
        return self.get_host_and_port()[1]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def local_aws() -> Iterator[LocalAwsServer]:
    """A started `LocalAwsServer` on a free port, stopped on exit. Request logs are silenced."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = LocalAwsServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
