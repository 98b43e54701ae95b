"""The customers API slice, driven in-process through Chalice's test client (authorizer included).

Each operation is repeated and measured: create (the first request of the process apart: it
fetches the signing key), get, PATCH with If-Match (a name, then an e-mail, which also moves the
e-mail reservation), create with an Idempotency-Key (first use, then the retry) and delete.
Then the store is filled to 500 customers and a first page and a cursor page of 50 are listed.

The store is filled with copies of a customer the API created (see copies.py: 500 creates
through the API would take minutes on moto).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from chalice.test import Client

from bench.copies import Copies
from bench.stack import LocalStack, Measurement
from clientela import auth

STORE = "bench-store"
STORE_SIZE = 500
PAGE_SIZE = 50
SAMPLES = 10
LIST_SAMPLES = 5


class BenchError(RuntimeError):
    """The API did not answer as it should: the figures would mean nothing."""


def profile(number: int) -> dict[str, Any]:
    """A realistic customer (accented letters take two bytes, on AWS too)."""
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

    def call(self, method: str, path: str, body: Any = None, *, expect: int, **headers: str) -> Any:
        sent = {**self._headers, **{k.replace("_", "-"): v for k, v in headers.items()}}
        payload = None if body is None else json.dumps(body).encode()
        answer = getattr(self._client.http, method.lower())(path, headers=sent, body=payload)
        text = answer.body.decode() if answer.body else ""
        if answer.status_code != expect:
            raise BenchError(f"{method} {path}: {answer.status_code}, not {expect}: {text[:300]}")
        return json.loads(text) if text else None

    def create(self, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        created: dict[str, Any] = self.call("POST", "/customers", body, expect=201, **headers)
        return created

    def get(self, customer: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/customers/{customer['id']}", expect=200)
        return found

    def patch(self, customer: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        path, version = f"/customers/{customer['id']}", customer["version"]
        changed: dict[str, Any] = self.call(
            "PATCH", path, changes, expect=200, if_match=f'"{version}"'
        )
        return changed

    def delete(self, customer: dict[str, Any]) -> None:
        path, version = f"/customers/{customer['id']}", customer["version"]
        self.call("DELETE", path, expect=204, if_match=f'"{version}"')

    def page(self, cursor: str | None) -> dict[str, Any]:
        query = f"limit={PAGE_SIZE}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        found: dict[str, Any] = self.call("GET", f"/customers?{query}", expect=200)
        return found


def run(stack: LocalStack) -> list[Measurement]:
    stack.reset()
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
        plain = self.measure("create, 1st request of process", [profile(0)], api.create)
        plain += self.measure("create", [profile(n) for n in range(1, SAMPLES)], api.create)
        self.measure("get", plain, api.get)
        renamed = self.measure(
            "update: PATCH name + If-Match", plain, lambda c: api.patch(c, {"first_name": "Ana"})
        )
        moved = self.measure(
            "update: PATCH e-mail + If-Match",
            renamed,
            lambda c: api.patch(c, {"email": f"nuevo.{c['id'].lower()}@ejemplo.es"}),
        )
        keyed = [(f"bench-key-{n:04d}", profile(1000 + n)) for n in range(SAMPLES)]
        created = self.measure(
            "create + Idempotency-Key, 1st", keyed, lambda k: api.create(k[1], idempotency_key=k[0])
        )
        replayed = self.measure(
            "create + Idempotency-Key, retry",
            keyed,
            lambda k: api.create(k[1], idempotency_key=k[0]),
        )
        if [c["id"] for c in created] != [c["id"] for c in replayed]:
            raise BenchError("an idempotent retry answered with another customer")
        self.measure("delete + If-Match", moved, api.delete)
        Copies(self.stack, created[0], STORE_SIZE - len(created), first=50000).follow()
        self._pages()
        return self.results

    def _pages(self) -> None:
        first = self.measure(
            f"list: 1st page of {PAGE_SIZE} ({STORE_SIZE} in store)",
            [None] * LIST_SAMPLES,
            self.api.page,
        )[0]
        if len(first["items"]) != PAGE_SIZE or not first["next_cursor"]:
            raise BenchError(f"the first page has {len(first['items'])} items, or no cursor")
        second = self.measure(
            f"list: cursor page of {PAGE_SIZE}",
            [first["next_cursor"]] * LIST_SAMPLES,
            self.api.page,
        )[0]
        if {c["id"] for c in second["items"]} & {c["id"] for c in first["items"]}:
            raise BenchError("the cursor page repeats customers of the first page")
