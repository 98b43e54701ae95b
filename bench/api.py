"""The customers API slice, driven in-process through Chalice's test client (authorizer included).

A store is filled with 500 customers (the creates are measured), then each operation is repeated
and measured: get, a first and a cursor page of 50, PATCH with If-Match (a name, then an
e-mail, which also moves the e-mail reservation), creates with an Idempotency-Key (first use,
then the retry), and deletes, which bring the store back to 500.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from chalice.test import Client
from clientela import auth

from bench.stack import LocalStack, Measurement

STORE = "bench-store"
STORE_SIZE = 500
PAGE_SIZE = 50
SAMPLES = 20


class BenchError(RuntimeError):
    """The API did not answer as it should: the figures would mean nothing."""


def profile(number: int) -> dict[str, Any]:
    """A realistic customer (accents count twice in UTF-8, as they do on AWS)."""
    return {
        "email": f"cliente.{number:05d}@ejemplo.es",
        "phone": f"+34 6{number:08d}",
        "first_name": "María José",
        "last_name": "García Núñez",
        "city": "Sevilla",
        "country": "ES",
        "tags": ["newsletter", "vip"],
    }


class Api:
    """JSON over Chalice's test client, as one store, failing loudly on unexpected answers."""

    def __init__(self, client: Client, store: str) -> None:
        token = auth.issue_token(store, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY)
        self._client = client
        self._headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    def call(
        self, method: str, path: str, body: Any = None, *, expect: int, **headers: str
    ) -> Any:
        sent = {**self._headers, **{k.replace("_", "-"): v for k, v in headers.items()}}
        payload = None if body is None else json.dumps(body).encode()
        answer = getattr(self._client.http, method.lower())(path, headers=sent, body=payload)
        text = answer.body.decode() if answer.body else ""
        if answer.status_code != expect:
            raise BenchError(f"{method} {path}: {answer.status_code} (wanted {expect}) {text[:300]}")
        return json.loads(text) if text else None

    def create(self, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        created: dict[str, Any] = self.call("POST", "/customers", body, expect=201, **headers)
        return created

    def patch(self, customer: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        path = f"/customers/{customer['id']}"
        changed: dict[str, Any] = self.call(
            "PATCH", path, changes, expect=200, if_match=f'"{customer["version"]}"'
        )
        return changed

    def delete(self, customer: dict[str, Any]) -> None:
        path = f"/customers/{customer['id']}"
        self.call("DELETE", path, expect=204, if_match=f'"{customer["version"]}"')


def run(stack: LocalStack) -> list[Measurement]:
    with Client(stack.apps["customers"].app) as client:
        return _Scenario(stack, Api(client, STORE)).run()


class _Scenario:
    def __init__(self, stack: LocalStack, api: Api) -> None:
        self.stack = stack
        self.api = api
        self.results: list[Measurement] = []

    def measure(self, name: str, inputs: list[Any], action: Callable[[Any], Any]) -> list[Any]:
        with self.stack.measure(name, len(inputs)) as measurement:
            outputs = [action(value) for value in inputs]
        self.results.append(measurement)
        return outputs

    def run(self) -> list[Measurement]:
        api = self.api
        customers = self.measure(
            "create, 1st request of the process", [profile(0)], api.create
        ) + self.measure(
            "create (no Idempotency-Key)", [profile(n) for n in range(1, STORE_SIZE)], api.create
        )
        step = STORE_SIZE // SAMPLES
        sample = customers[::step][:SAMPLES]
        self.measure("get", sample, lambda c: api.call("GET", f"/customers/{c['id']}", expect=200))
        self._pages()
        self.measure(
            "update: PATCH name, If-Match",
            sample,
            lambda c: api.patch(c, {"first_name": "Ana Belén"}),
        )
        self.measure(
            "update: PATCH e-mail, If-Match",
            customers[1::step][:SAMPLES],
            lambda c: api.patch(c, {"email": f"nuevo.{c['id'].lower()}@ejemplo.es"}),
        )
        keyed = [(f"bench-key-{n}", profile(STORE_SIZE + n)) for n in range(SAMPLES)]
        created = self.measure(
            "create, Idempotency-Key 1st use",
            keyed,
            lambda k: api.create(k[1], idempotency_key=k[0]),
        )
        replayed = self.measure(
            "create, Idempotency-Key retry",
            keyed,
            lambda k: api.create(k[1], idempotency_key=k[0]),
        )
        if [c["id"] for c in created] != [c["id"] for c in replayed]:
            raise BenchError("an idempotent retry created another customer")
        self.measure("delete, If-Match", created, api.delete)
        return self.results

    def _pages(self) -> None:
        first = self.measure(
            f"list: 1st page of {PAGE_SIZE}",
            [None] * 5,
            lambda _: self.api.call("GET", f"/customers?limit={PAGE_SIZE}", expect=200),
        )[0]
        if len(first["items"]) != PAGE_SIZE or not first["next_cursor"]:
            raise BenchError(f"the first page is not a full page: {len(first['items'])} items")
        cursor = urllib.parse.quote(first["next_cursor"], safe="")
        second = self.measure(
            f"list: cursor page of {PAGE_SIZE}",
            [cursor] * 5,
            lambda c: self.api.call("GET", f"/customers?limit={PAGE_SIZE}&cursor={c}", expect=200),
        )[0]
        if {c["id"] for c in second["items"]} & {c["id"] for c in first["items"]}:
            raise BenchError("the cursor page repeats customers of the first page")
