from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client

if TYPE_CHECKING:
    from bench.flowsdriver import FlowsDriver


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class Api:
    """A thin JSON wrapper over Chalice's test client (which runs the authorizer too)."""

    def __init__(self, client: Client, headers: dict[str, str]) -> None:
        self._client = client
        self.headers = headers

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        sent = {**self.headers, **(headers or {})}
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        response = getattr(self._client.http, method.lower())(path, headers=sent, body=payload)
        text = response.body.decode() if response.body else ""
        return Answer(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            json.loads(text) if text else None,
        )


@pytest.fixture
def customers_client(apps: dict[str, Any]) -> Iterator[Client]:
    with Client(apps["customers"].app) as client:
        yield client


@pytest.fixture
def api(customers_client: Client, headers: dict[str, str]) -> Api:
    return Api(customers_client, headers)


@pytest.fixture
def flows_api(apps: dict[str, Any], headers: dict[str, str]) -> Iterator[Api]:
    """The automation API as the test's store."""
    with Client(apps["automation"].app) as client:
        yield Api(client, headers)


@pytest.fixture
def driver(apps: dict[str, Any], store_id: str) -> FlowsDriver:
    """Runs the automation functions on the test's store as their event sources would."""
    from bench.flowsdriver import FlowsDriver

    return FlowsDriver(apps["automation"], store_id)
