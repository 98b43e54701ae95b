"""What the local gateway answers itself, outside any service's paths.

- `GET /health`: the stack is up, which services it serves, and moto's address (`aws`: read
  what moto holds, e.g. the mail SES sent, at `<aws>/moto-api/data.json`).
- `GET /openapi.json` and `GET /docs`: the merged API document and a page that renders it (on
  AWS both are files in S3 behind the same CloudFront distribution).
- `POST /_local/wait-idle`, `POST /_local/clock/advance?seconds=N`: controls for tests that
  drive the stack from another process (e2e); they exist only locally.
- `POST /_local/events` (a PutEvents body, `{"Entries": [...]}`): puts events on the bus as the
  store platform would (a storefront `cart.updated`, say); `GET /_local/aws`: moto's endpoint,
  to read what local AWS holds (`/moto-api/data.json`: the mail SES sent, ...).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from clientela.openapi import DOCS_PAGE, build_document
from clientela_local.apps import LoadedApp
from clientela_local.gateway import LocalRoute
from clientela_local.gateway_responses import Answer

log = logging.getLogger(__name__)


def json_answer(status: int, payload: Any, content_type: str = "application/json") -> Answer:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Answer(status, {"Content-Type": content_type}, body)


def problem(status: int, slug: str, title: str, detail: str) -> Answer:
    payload = {
        "type": f"https://clientela.dev/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return json_answer(status, payload, "application/problem+json")


def local_routes(
    apps: Sequence[LoadedApp],
    *,
    wait_idle: Callable[[float], None],
    advance_clock: Callable[[timedelta], list[str]],
    clock_now: Callable[[], datetime] | None = None,
    aws_endpoint: str | None = None,
) -> dict[tuple[str, str], LocalRoute]:
    services = [loaded.service for loaded in apps]
    openapi_cache: list[bytes] = []

    def health(_query: dict[str, list[str]]) -> Answer:
        return json_answer(200, {"status": "ok", "services": services, "aws": aws_endpoint})

    def openapi(_query: dict[str, list[str]]) -> Answer:
        if not openapi_cache:
            document = build_document([loaded.app for loaded in apps])
            openapi_cache.append(json.dumps(document, ensure_ascii=False).encode())
        return Answer(200, {"Content-Type": "application/json"}, openapi_cache[0])

    def docs(_query: dict[str, list[str]]) -> Answer:
        return Answer(200, {"Content-Type": "text/html; charset=utf-8"}, DOCS_PAGE.encode())

    def settle(query: dict[str, list[str]]) -> Answer:
        timeout = float(query.get("timeout", ["30"])[-1])
        try:
            wait_idle(timeout)
        except TimeoutError as exc:
            return problem(504, "gateway-timeout", "Gateway Timeout", str(exc))
        return Answer(204, {}, b"")

    def advance(query: dict[str, list[str]]) -> Answer:
        try:
            seconds = float(query.get("seconds", ["0"])[-1])
        except ValueError:
            seconds = -1
        if seconds < 0:
            return problem(400, "bad-request", "Bad Request", "seconds must be a number >= 0")
        fired = advance_clock(timedelta(seconds=seconds))
        # The stack's time after the move: tests date what they create from it, since the
        # clock only moves forward and earlier tests may have moved it.
        now = clock_now() if clock_now is not None else None
        return json_answer(200, {"fired": fired, "now": now.isoformat() if now else None})

    def aws(_query: dict[str, list[str]]) -> Answer:
        return json_answer(200, {"endpoint_url": aws_endpoint})

    def put_events(_query: dict[str, list[str]], body: bytes) -> Answer:
        try:
            entries = json.loads(body or b"{}").get("Entries")
        except (ValueError, AttributeError):
            entries = None
        if not isinstance(entries, list) or not entries:
            return problem(400, "bad-request", "Bad Request", 'send {"Entries": [...]}')
        events = boto3.client("events", config=Config(retries={"total_max_attempts": 1}))
        return json_answer(200, events.put_events(Entries=entries)["Entries"])

    return {
        ("GET", "/_local/aws"): LocalRoute(aws),
        ("POST", "/_local/events"): LocalRoute(aws, body_handler=put_events),
        ("GET", "/health"): LocalRoute(health),
        ("GET", "/openapi.json"): LocalRoute(openapi),
        ("GET", "/docs"): LocalRoute(docs),
        ("POST", "/_local/wait-idle"): LocalRoute(settle),
        ("POST", "/_local/clock/advance"): LocalRoute(advance),
    }
