"""The local gateway: CloudFront path routing, API Gateway's own answers (from the infra
template), and faithful proxy events, in front of a small Chalice app."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from chalice.app import AuthResponse, AuthRoute, Chalice, Response
from chalice.config import Config

from clientela_local.apps import LoadedApp
from clientela_local.endpoints import local_routes
from clientela_local.gateway import MAX_PAYLOAD_BYTES, GatewayServer, match_service
from clientela_local.gateway_responses import GatewayResponses

ROUTES = [
    ("/things", "svc"),
    ("/things/*", "svc"),
    ("/health/svc", "svc"),
    ("/elsewhere*", "other"),
    ("*", "docs"),
]
PROBLEM = "https://clientela.dev/problems/"


def _app() -> Chalice:
    app = Chalice("gw")

    @app.authorizer()
    def token_authorizer(request):
        if request.token == "Bearer writer":
            return AuthResponse(routes=[AuthRoute("/*", ["GET", "POST"])], principal_id="s-1")
        if request.token == "Bearer reader":
            return AuthResponse(routes=[AuthRoute("/*", ["GET"])], principal_id="s-1")
        if request.token == "Bearer crash":
            raise KeyError("signing key")
        raise Exception("Unauthorized")

    @app.route("/health/svc", methods=["GET"])
    def health():
        return {"status": "ok"}

    @app.route("/things/{thing_id}", methods=["GET"], authorizer=token_authorizer)
    def get_thing(thing_id):
        request = app.current_request
        assert request is not None
        event = request.to_original_event()
        return {
            "id": thing_id,
            "tags": (event["multiValueQueryStringParameters"] or {}).get("tag", []),
            "repeated": event["multiValueHeaders"].get("x-repeated"),
            "request_id": event["requestContext"]["requestId"],
            "store": request.context["authorizer"]["principalId"],
        }

    @app.route(
        "/things",
        methods=["POST"],
        authorizer=token_authorizer,
        content_types=["application/octet-stream"],
    )
    def echo():
        request = app.current_request
        assert request is not None
        return Response(
            request.raw_body,
            status_code=201,
            headers={"Content-Type": "application/octet-stream"},
        )

    @app.route("/things/{thing_id}/explode", methods=["GET"], authorizer=token_authorizer)
    def explode(thing_id):
        raise RuntimeError("a bug")

    return app


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    loaded = LoadedApp("svc", None, _app(), Config())  # type: ignore[arg-type]
    server = GatewayServer(
        0,
        [loaded],
        ROUTES,
        GatewayResponses.from_template(),
        local_routes([loaded], wait_idle=lambda _t: None, advance_clock=lambda _d: []),
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.close()
    thread.join(5)


def _problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM + slug
    assert body["title"]
    assert body["detail"]
    return body


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/things", "svc"),
        ("/things/", "svc"),
        ("/things/a/b", "svc"),
        ("/thingsX", "docs"),
        ("/elsewhere/deep/path", "other"),
        ("/elsewhere", "other"),
        ("/Things", "docs"),  # CloudFront patterns are case-sensitive
        ("/", "docs"),
    ],
)
def test_paths_go_to_the_first_matching_behaviour(path, service):
    assert match_service(path, ROUTES) == service


def test_pattern_wildcards():
    assert match_service("/a1.json", [("/a?.json", "x")]) == "x"
    assert match_service("/a12.json", [("/a?.json", "x")]) is None
    assert match_service("/v1/x", [("v1/*", "x")]) == "x"  # leading slash is optional
    assert match_service("/anything", []) is None


def test_health_lists_the_services(base_url):
    response = requests.get(f"{base_url}/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "services": ["svc"], "aws": None}


def test_docs_page_renders_the_merged_document(base_url):
    response = requests.get(f"{base_url}/docs", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "/openapi.json" in response.text


def test_routes_without_authorizer_answer_directly(base_url):
    response = requests.get(f"{base_url}/health/svc", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_no_token_is_a_401_problem(base_url):
    response = requests.get(f"{base_url}/things/t-1", timeout=5)
    _problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_the_authorizer_rejects_is_a_401_problem(base_url):
    headers = {"Authorization": "Bearer forged"}
    response = requests.get(f"{base_url}/things/t-1", headers=headers, timeout=5)
    _problem(response, 401, "unauthorized")


def test_a_method_the_policy_does_not_allow_is_a_403_problem(base_url):
    headers = {"Authorization": "Bearer reader", "Content-Type": "application/octet-stream"}
    response = requests.post(f"{base_url}/things", data=b"x", headers=headers, timeout=5)
    _problem(response, 403, "forbidden")


def test_an_authorizer_that_crashes_is_a_500_problem(base_url):
    headers = {"Authorization": "Bearer crash"}
    response = requests.get(f"{base_url}/things/t-1", headers=headers, timeout=5)
    assert response.status_code == 500
    assert response.json()["type"] == PROBLEM + "internal-error"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/things/t-1/nothing-here"),  # owned by the service, no such route
        ("DELETE", "/things/t-1"),  # route exists, method does not
        ("GET", "/elsewhere/x"),  # a behaviour whose service is not running
        ("GET", "/nowhere"),  # the default behaviour (documents, not an API)
    ],
)
def test_a_route_that_does_not_exist_gets_the_missing_route_answer(base_url, method, path):
    headers = {"Authorization": "Bearer writer"}
    response = requests.request(method, base_url + path, headers=headers, timeout=5)
    answer = GatewayResponses.from_template().render("MISSING_AUTHENTICATION_TOKEN")
    assert response.status_code == answer.status
    assert response.content == answer.body


def test_query_strings_headers_and_path_parameters_reach_the_app(base_url):
    # http.client, because requests sends one value per header name.
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    connection.putrequest("GET", "/things/caf%C3%A9?tag=vip&tag=new")
    for name, value in [
        ("Authorization", "Bearer reader"),
        ("X-Repeated", "1"),
        ("X-Repeated", "2"),
    ]:
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 200, body
    assert body["id"] == "café"  # path parameters arrive decoded, as from API Gateway
    assert body["tags"] == ["vip", "new"]
    assert body["repeated"] == ["1", "2"]
    assert body["request_id"]
    assert body["store"] == "s-1"


def test_binary_bodies_round_trip(base_url):
    payload = bytes(range(256)) * 4
    headers = {"Authorization": "Bearer writer", "Content-Type": "application/octet-stream"}
    response = requests.post(
        f"{base_url}/things",
        data=payload,
        headers={**headers, "Accept": "application/octet-stream"},
        timeout=5,
    )
    assert response.status_code == 201
    assert response.content == payload
    assert response.headers["Content-Length"] == str(len(payload))


def test_a_body_over_lambdas_payload_limit_is_a_413_problem(base_url):
    headers = {"Authorization": "Bearer writer", "Content-Type": "application/octet-stream"}
    body = b"x" * (MAX_PAYLOAD_BYTES + 1)
    response = requests.post(f"{base_url}/things", data=body, headers=headers, timeout=10)
    _problem(response, 413, "payload-too-large")
    # The connection is still usable afterwards.
    assert requests.get(f"{base_url}/health", timeout=5).status_code == 200


def test_a_view_that_raises_is_chalices_500(base_url):
    headers = {"Authorization": "Bearer reader"}
    response = requests.get(f"{base_url}/things/t-1/explode", headers=headers, timeout=5)
    assert response.status_code == 500


def test_one_log_line_per_request_without_query_or_headers(base_url, monkeypatch):
    # Listen on the gateway's logger itself: other tests in this worker may reconfigure the root
    # logger or disable existing loggers.
    logger = logging.getLogger("clientela_local.gateway")
    records: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = records.append  # type: ignore[method-assign,assignment]
    monkeypatch.setattr(logger, "disabled", False)
    monkeypatch.setattr(logger, "handlers", [listener])
    level = logger.level
    logger.setLevel(logging.INFO)  # (setLevel, not setattr: it clears the logging cache)
    try:
        headers = {"Authorization": "Bearer reader"}
        requests.get(f"{base_url}/things/t-9?email=maria@example.com", headers=headers, timeout=5)
    finally:
        logger.setLevel(level)
    lines = [r.getMessage() for r in records]
    assert len(lines) == 1
    method, path, status, elapsed = lines[0].split()
    assert (method, path, status) == ("GET", "/things/t-9", "200")
    assert elapsed.endswith("ms")
    assert "maria" not in lines[0]
    assert "reader" not in lines[0]


def test_malformed_framing_is_a_400_problem(base_url):
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname or "", url.port or 0), timeout=5) as raw:
        raw.sendall(b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n")
        answer = raw.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["type"] == PROBLEM + "bad-request"


def test_chunked_request_bodies_are_read_whole(base_url):
    headers = {"Authorization": "Bearer writer", "Content-Type": "application/octet-stream"}
    response = requests.post(
        f"{base_url}/things",
        data=iter([b"ol", b"\xc3\xa1", b"!"]),  # a generator: requests sends it chunked
        headers={**headers, "Accept": "application/octet-stream"},
        timeout=5,
    )
    assert response.status_code == 201
    assert response.content == "olá!".encode()


def _raw_exchange(base_url: str, request: bytes) -> tuple[bytes, bytes]:
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname or "", url.port or 0), timeout=5) as raw:
        raw.sendall(request)
        answer = raw.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW", "get"])
@pytest.mark.parametrize("path", ["/things", "/things/t-1", "/nowhere", "/health"])
def test_a_method_cloudfront_does_not_forward_is_its_403_as_a_problem(base_url, method, path):
    # CloudFront refuses any method but its seven with a 403 before API Gateway sees it.
    head, body = _raw_exchange(
        base_url,
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer writer\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    assert head.startswith(b"HTTP/1.1 403"), head
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["type"] == PROBLEM + "method-not-allowed"
    assert problem["status"] == 403
    assert problem["detail"]


def test_every_api_behaviour_forwards_exactly_the_methods_the_gateway_serves():
    from clientela_local import cfn
    from clientela_local.apps import REPO_ROOT
    from clientela_local.gateway import CLOUDFRONT_METHODS

    edge = cfn.load(REPO_ROOT / "infra" / "edge.yaml")["Resources"]
    (distribution,) = [r for r in edge.values() if r["Type"] == "AWS::CloudFront::Distribution"]
    behaviours = distribution["Properties"]["DistributionConfig"]["CacheBehaviors"]
    api = [b for b in behaviours if b["TargetOriginId"] != "docs"]
    assert api
    for behaviour in api:
        assert set(behaviour["AllowedMethods"]) == CLOUDFRONT_METHODS, behaviour["PathPattern"]


def test_headers_http_server_cannot_read_are_a_problem_too(base_url):
    secret = b"maria@example.com" * 4000  # over http.server's 64 KiB header line
    head, body = _raw_exchange(base_url, b"GET /things HTTP/1.1\r\nX-Long: " + secret + b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431"), head
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["type"] == PROBLEM + "request-header-fields-too-large"
    assert problem["status"] == 431
    assert "maria" not in problem["detail"]
