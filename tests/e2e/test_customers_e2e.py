"""The customers slice through the running local stack, over real HTTP, as a user drives it."""

from __future__ import annotations

import uuid

import pytest
import requests

from clientela import auth


@pytest.fixture
def store_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def test_a_customer_lifecycle(stack, store_id) -> None:
    url, headers = stack.base_url, stack.headers(store_id)
    body = {
        "email": "Lucia.Bianchi@Example.IT",
        "phone": "312 345 6789",
        "country": "IT",
        "first_name": "Lucía",
        "last_name": "Bianchi",
        "tags": ["VIP"],
    }

    created = requests.post(f"{url}/customers", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    customer = created.json()
    assert (customer["email"], customer["phone"]) == ("lucia.bianchi@example.it", "+393123456789")
    assert created.headers["ETag"] == '"1"'

    fetched = requests.get(f"{url}/customers/{customer['id']}", headers=headers, timeout=10)
    assert fetched.json() == customer

    listed = requests.get(
        f"{url}/customers", params={"limit": 10}, headers=headers, timeout=10
    ).json()
    assert [c["id"] for c in listed["items"]] == [customer["id"]]
    assert listed["next_cursor"] is None

    patched = requests.patch(
        f"{url}/customers/{customer['id']}",
        json={"city": "Milano"},
        headers={**headers, "If-Match": '"1"'},
        timeout=10,
    )
    assert patched.status_code == 200
    assert patched.json()["version"] == 2

    stale = requests.patch(
        f"{url}/customers/{customer['id']}",
        json={"city": "Roma"},
        headers={**headers, "If-Match": '"1"'},
        timeout=10,
    )
    assert stale.status_code == 412
    assert stale.headers["Content-Type"] == "application/problem+json"
    again = requests.get(f"{url}/customers/{customer['id']}", headers=headers, timeout=10)
    assert again.json()["city"] == "Milano"

    deleted = requests.delete(f"{url}/customers/{customer['id']}", headers=headers, timeout=10)
    assert deleted.status_code == 204
    gone = requests.get(f"{url}/customers/{customer['id']}", headers=headers, timeout=10)
    assert gone.status_code == 404


def test_the_event_opens_and_closes_the_wallet(stack, store_id) -> None:
    url, headers = stack.base_url, stack.headers(store_id)
    customer = requests.post(
        f"{url}/customers", json={"email": "w@example.com"}, headers=headers, timeout=10
    ).json()
    stack.wait_idle()

    wallet = requests.get(f"{url}/wallets/{customer['id']}", headers=headers, timeout=10)
    assert wallet.status_code == 200, wallet.text
    assert wallet.json()["status"] == "open"
    assert wallet.json()["balance"] == "0.00"

    requests.delete(f"{url}/customers/{customer['id']}", headers=headers, timeout=10)
    stack.wait_idle()
    closed = requests.get(f"{url}/wallets/{customer['id']}", headers=headers, timeout=10)
    assert closed.json()["status"] == "closed"


def test_another_store_gets_404(stack, store_id) -> None:
    url = stack.base_url
    customer = requests.post(
        f"{url}/customers",
        json={"email": "mine@example.com"},
        headers=stack.headers(store_id),
        timeout=10,
    ).json()
    stack.wait_idle()
    intruder = stack.headers(store_id + "-x")

    for method in ("GET", "PATCH", "DELETE"):
        answer = requests.request(
            method,
            f"{url}/customers/{customer['id']}",
            json={"city": "X"} if method == "PATCH" else None,
            headers=intruder,
            timeout=10,
        )
        assert answer.status_code == 404, (method, answer.text)
    assert (
        requests.get(f"{url}/wallets/{customer['id']}", headers=intruder, timeout=10).status_code
        == 404
    )
    assert requests.get(f"{url}/customers", headers=intruder, timeout=10).json()["items"] == []


@pytest.mark.parametrize("kind", ["missing", "malformed", "bad-signature", "expired", "not-bearer"])
def test_bad_tokens_get_401(stack, kind) -> None:
    tokens = {
        "missing": None,
        "malformed": "Bearer abc.def",
        "bad-signature": "Bearer " + auth.issue_token("shop-1", auth.ALL_SCOPES, "x" * 40),
        "expired": "Bearer " + stack.token("shop-1", ttl_seconds=-300),
        "not-bearer": "Basic dXNlcjpwYXNz",
    }
    headers = {} if tokens[kind] is None else {"Authorization": tokens[kind]}

    answer = requests.get(f"{stack.base_url}/customers", headers=headers, timeout=10)

    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 401


def test_a_token_without_the_scope_gets_403(stack, store_id) -> None:
    url = stack.base_url
    reader = stack.headers(store_id, ["customers:read"])

    assert requests.get(f"{url}/customers", headers=reader, timeout=10).status_code == 200
    refused = requests.post(
        f"{url}/customers", json={"email": "a@example.com"}, headers=reader, timeout=10
    )
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert requests.get(f"{url}/wallets/x", headers=reader, timeout=10).status_code == 403


def test_bad_input_is_a_problem_and_changes_nothing(stack, store_id) -> None:
    url, headers = stack.base_url, stack.headers(store_id)

    bad = requests.post(
        f"{url}/customers", json={"email": "nope", "colour": "red"}, headers=headers, timeout=10
    )
    malformed = requests.post(
        f"{url}/customers",
        data=b"{",
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    huge = requests.post(
        f"{url}/customers",
        json={"email": "a@example.com", "city": "x" * 100_000},
        headers=headers,
        timeout=10,
    )

    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"email", "colour"}
    assert malformed.status_code == 400
    assert huge.status_code == 413
    for answer in (bad, malformed, huge):
        assert answer.headers["Content-Type"] == "application/problem+json"
    assert requests.get(f"{url}/customers", headers=headers, timeout=10).json()["items"] == []


def test_a_retried_post_creates_one_customer(stack, store_id) -> None:
    url, headers = stack.base_url, {**stack.headers(store_id), "Idempotency-Key": "k-1"}
    body = {"email": "once@example.com"}

    first = requests.post(f"{url}/customers", json=body, headers=headers, timeout=10)
    second = requests.post(f"{url}/customers", json=body, headers=headers, timeout=10)
    other = requests.post(
        f"{url}/customers", json={"email": "twice@example.com"}, headers=headers, timeout=10
    )

    assert (first.status_code, second.status_code, other.status_code) == (201, 201, 422)
    assert first.json() == second.json()
    listed = requests.get(f"{url}/customers", headers=stack.headers(store_id), timeout=10).json()
    assert len(listed["items"]) == 1


def test_pages_follow_the_cursor(stack, store_id) -> None:
    url, headers = stack.base_url, stack.headers(store_id)
    ids = [
        requests.post(
            f"{url}/customers", json={"email": f"p{i}@example.com"}, headers=headers, timeout=10
        ).json()["id"]
        for i in range(7)
    ]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{url}/customers", params=params, headers=headers, timeout=10).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
