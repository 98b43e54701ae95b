"""The local front door: CloudFront's path routing plus API Gateway, in front of the four apps.

On AWS one CloudFront distribution sends each path to the API Gateway of the service that owns
it (cache behaviours in `infra/edge.yaml`, first match wins), and API Gateway runs the custom
authorizer before invoking the function. Here the same behaviours pick the app and Chalice's
`LocalGateway` plays API Gateway; what API Gateway answers by itself (401, 403, missing route,
body too large) comes from the gateway responses in the infra template.

One log line per request: method, path without query, status, milliseconds. Never headers or
bodies: they carry tokens and personal data.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import logging
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from chalice.local import ForbiddenError, InvalidAuthorizerError, LocalGateway, NotAuthorizedError

from clientela_local.apps import LoadedApp
from clientela_local.console import ConsoleFiles
from clientela_local.gateway_responses import Answer, GatewayResponses, problem_answer

log = logging.getLogger(__name__)

# Lambda's synchronous invocation payload limit, for requests and responses alike.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# Bodies over the limit up to this size are read and dropped; bigger ones close the connection.
MAX_DISCARD_BYTES = 64 * 1024 * 1024
# API Gateway's `minimum_compression_size` in every service's .chalice/config.json (bytes).
MINIMUM_COMPRESSION_SIZE = 1024
COMPRESSIBLE_TYPES = ("application/json", "application/problem+json", "text/", "application/xml")
# Hop-by-hop and framing headers are the server's business, not the app's.
_FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}
# The most any CloudFront cache behaviour can forward (every API behaviour of infra/edge.yaml
# allows all of them). CloudFront refuses any other method itself with a 403 (Invalid method):
# TRACE, CONNECT, WebDAV's PROPFIND, any token at all never reach API Gateway.
CLOUDFRONT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"})
INVALID_METHOD = problem_answer(
    403,
    "method-not-allowed",
    "Method not allowed",
    "Only GET, HEAD, OPTIONS, PUT, PATCH, POST and DELETE are accepted.",
)


@dataclass(frozen=True)
class LocalRoute:
    """An endpoint the local gateway answers itself (health, docs, local controls)."""

    handler: Callable[[dict[str, list[str]]], Answer]
    # A control that reads the request body too (POST /_local/events) gets it as a second
    # argument.
    body_handler: Callable[[dict[str, list[str]], bytes], Answer] | None = None


def match_service(path: str, routes: Iterable[tuple[str, str]]) -> str | None:
    """The service of the first CloudFront behaviour whose path pattern matches `path`.

    CloudFront patterns are case-sensitive; `*` matches any characters including `/`, `?`
    exactly one character; the leading `/` is optional.
    """
    for pattern, service in routes:
        if _pattern(pattern).fullmatch(path):
            return service
    return None


@functools.lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("/") and pattern != "*":
        pattern = "/" + pattern
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


class ServiceGateway(LocalGateway):
    """Chalice's API Gateway stand-in, closer to a REST API's proxy event and routing."""

    def __init__(self, loaded: LoadedApp, multi_value_headers: dict[str, list[str]]) -> None:
        super().__init__(loaded.app, loaded.config)
        self._multi_value_headers = multi_value_headers

    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = super()._generate_lambda_event(method, path, headers, body)
        context = event["requestContext"]
        methods = self._app_object.routes[context["resourcePath"]]
        if method not in methods and not (method == "OPTIONS" and _has_cors(methods)):
            # API Gateway has no such method on the resource: its missing-route answer. (A
            # ValueError is how LocalGateway signals "no route".)
            raise ValueError(f"no {method} on {context['resourcePath']}")
        # What a REST API proxy event carries and LocalGateway leaves out.
        event["resource"] = context["resourcePath"]
        event["path"] = context["path"]
        event["httpMethod"] = method
        event["multiValueHeaders"] = self._multi_value_headers
        query = event["multiValueQueryStringParameters"]
        event["queryStringParameters"] = {k: v[-1] for k, v in query.items()} if query else None
        event["pathParameters"] = {k: unquote(v) for k, v in event["pathParameters"].items()}
        context.update({"requestId": str(uuid.uuid4()), "stage": "api", "resourceId": "local"})
        return event


def _has_cors(methods: dict[str, Any]) -> bool:
    return any(entry.cors for entry in methods.values())


class GatewayServer(ThreadingHTTPServer):
    # Handler threads are joined on close (`close`); open keep-alive connections are cut first so
    # an idle browser tab cannot hold the stop up.
    daemon_threads = False
    block_on_close = True

    def __init__(
        self,
        port: int,
        apps: Iterable[LoadedApp],
        routes: list[tuple[str, str]],
        responses: GatewayResponses,
        local_routes: dict[tuple[str, str], LocalRoute] | None = None,
        *,
        console: ConsoleFiles | None = None,
        after_invoke: Callable[[], object] | None = None,
    ) -> None:
        self.apps = {loaded.service: loaded for loaded in apps}
        # Told after every function invocation: what it wrote may be work for the pollers.
        self.after_invoke = after_invoke
        self.console = console
        self.routes = routes
        self.responses = responses
        self.local_routes = local_routes or {}
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close(self) -> None:
        """Stops serving, hangs up on idle connections and joins every handler thread.

        Call from another thread than the one running `serve_forever`.
        """
        self.shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, _request: Any, _client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client hung up mid-answer: not an error of ours
        log.exception("gateway: unhandled error while serving a request")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatewayServer
    timeout = 30  # seconds an idle keep-alive connection stays open
    _started = 0.0

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: `_send` logs its own line, without query strings."""

    def _serve(self) -> None:
        self._started = time.perf_counter()
        try:
            self._respond(self.path.partition("?")[0])
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 (an HTML page) for a method with no `do_<METHOD>`: here every
        # method, whatever its token, is served and answered as the deployed API answers it.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:  # noqa: ARG002
        """http.server's own refusals (a request line or headers it cannot read) as problems.

        Its message echoes the request line: the status' own words are used instead.
        """
        status = HTTPStatus(code)
        self.close_connection = True
        slug = "bad-request" if code == HTTPStatus.BAD_REQUEST else status.phrase.lower()
        answer = problem_answer(code, slug.replace(" ", "-"), status.phrase, status.description)
        self.send_response(code)
        for name, value in _header_items(answer.headers):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(answer.body)

    def _respond(self, path: str) -> None:
        try:
            body = self._read_body()
        except ValueError:  # a Content-Length or chunk size that is not a number
            self.close_connection = True
            self._send(self.server.responses.render("DEFAULT_4XX", "Malformed request framing"))
            return
        if body is None:
            self._send(self.server.responses.render("REQUEST_TOO_LARGE"))
            return
        if self.command not in CLOUDFRONT_METHODS:
            self._send(INVALID_METHOD)
            return
        console = self.server.console
        if console is not None and console.handles(path) and self.command in {"GET", "HEAD"}:
            self._send(console.answer(path, self.headers.get("Accept-Encoding", "")))
            return
        local = self.server.local_routes.get((self.command, path))
        if local is not None:
            try:
                query = parse_qs(self.path.partition("?")[2])
                if local.body_handler is not None:
                    answer = local.body_handler(query, body)
                else:
                    answer = local.handler(query)
            except Exception:
                log.exception("%s %s failed", self.command, path)
                answer = self.server.responses.render("DEFAULT_5XX")
            if self.server.after_invoke is not None:
                self.server.after_invoke()  # the clock's schedules may have run functions
            self._send(answer)
            return
        service = match_service(path, self.server.routes)
        loaded = self.server.apps.get(service or "")
        if loaded is None:
            self._send(self.server.responses.render("MISSING_AUTHENTICATION_TOKEN"))
            return
        answer = self._invoke(loaded, body)
        if self.server.after_invoke is not None:
            self.server.after_invoke()
        self._send(compressed(answer, self.headers.get("Accept-Encoding", "")))

    def _read_body(self) -> bytes | None:
        """The request body ('' when none); None when it is over Lambda's payload limit."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self._discard(length)
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _discard(self, length: int) -> None:
        """Reads a refused body, so the client (still sending) gets the 413 and not a reset."""
        if length > MAX_DISCARD_BYTES:
            self.close_connection = True  # the unread rest must not be taken as a request
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break  # the client gave up
            length -= len(chunk)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while size := int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16):
            total += size
            if total > MAX_PAYLOAD_BYTES:
                self.close_connection = True
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _invoke(self, loaded: LoadedApp, body: bytes) -> Answer:
        names = dict.fromkeys(name.lower() for name in self.headers)
        multi = {name: self.headers.get_all(name) or [] for name in names}
        # A REST API event's `headers` keeps the last value of a repeated header.
        single = {name: values[-1] for name, values in multi.items() if values}
        gateway = ServiceGateway(loaded, multi)
        try:
            with loaded.lock:
                response = gateway.handle_request(self.command, self.path, single, body or None)
        except Exception as exc:
            return self.server.responses.render(_gateway_error(loaded.service, exc))
        return _answer(response, self.server.responses)

    def _send(self, answer: Answer) -> None:
        # Logged before answering, so the line exists by the time the client has its answer.
        elapsed = (time.perf_counter() - self._started) * 1000
        path = self.path.partition("?")[0]
        log.info("%s %s %d %.0fms", self.command, path, answer.status, elapsed)
        self.send_response(answer.status)
        for name, value in _header_items(answer.headers):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)


def compressed(answer: Answer, accept_encoding: str) -> Answer:
    """What API Gateway does with `minimum_compression_size` (each service's .chalice config):
    a text answer of at least that size goes gzipped to a client that accepts it."""
    headers = {name.lower(): value for name, value in answer.headers.items()}
    content_type = str(headers.get("content-type", ""))
    if (
        len(answer.body) < MINIMUM_COMPRESSION_SIZE
        or "gzip" not in accept_encoding.lower()
        or "content-encoding" in headers
        or not content_type.startswith(COMPRESSIBLE_TYPES)
    ):
        return answer
    body = gzip.compress(answer.body, compresslevel=6, mtime=0)
    return Answer(answer.status, {**answer.headers, "Content-Encoding": "gzip"}, body)


def _gateway_error(service: str, exc: Exception) -> str:
    """The gateway response type API Gateway answers with when the function is not reached."""
    if isinstance(exc, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(exc, ForbiddenError):
        # LocalGateway's "no such route" (with or without an Authorization header).
        no_route = any(
            text in (exc.body or b"") for text in (b"Missing Authentication", b"Credential")
        )
        return "MISSING_AUTHENTICATION_TOKEN" if no_route else "ACCESS_DENIED"
    if isinstance(exc, InvalidAuthorizerError):
        return "AUTHORIZER_CONFIGURATION_ERROR"
    # Chalice turns a view's exception into a 500 response itself, so what escapes comes from
    # the authorizer: `raise Exception("Unauthorized")` is API Gateway's contract for a 401, any
    # other failure an authorizer failure (500).
    if type(exc) is Exception and str(exc) == "Unauthorized":
        return "UNAUTHORIZED"
    log.error("%s: authorizer failed", service, exc_info=exc)
    return "AUTHORIZER_FAILURE"


def _answer(response: dict[str, Any], responses: GatewayResponses) -> Answer:
    """A Lambda proxy response -> an HTTP answer, as API Gateway converts it."""
    body: Any = response.get("body") or b""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body)
    elif isinstance(body, str):
        body = body.encode("utf-8")
    if len(body) > MAX_PAYLOAD_BYTES:
        log.error("response of %d bytes is over Lambda's payload limit", len(body))
        return responses.render("DEFAULT_5XX")
    headers: dict[str, str | list[str]] = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = list(values)
    return Answer(int(response["statusCode"]), headers, body)


def _header_items(headers: dict[str, str | list[str]]) -> list[tuple[str, str]]:
    items = []
    for name, value in headers.items():
        if name.lower() in _FRAMING_HEADERS:
            continue
        for single in value if isinstance(value, list) else [value]:
            items.append((name, str(single)))
    return items
