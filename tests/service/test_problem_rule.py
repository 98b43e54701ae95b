"""One rule for "not in this store" and bad input, whichever route answers (clientela.problems).

- the resource the path names is not in this store: 404;
- an id in the body or the query names nothing in this store: 422 naming the field, with a
  JSON pointer; nothing changes;
- a value that does not parse (a malformed date, a foreign cursor, a header): 422 naming it;
- 400 only for a body that cannot be read at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import Api

UNKNOWN = "01JD3Z6Q4W0W8Y5J3K2M1N0PQR"  # a well-formed id no store has
NO_CUSTOMER = "No customer with this id in this store"


def refused(answer: Any, status: int) -> list[tuple[str, str]]:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.body["status"] == status
    return [(error["pointer"], error["reason"]) for error in answer.body.get("errors", [])]


def customer(api: Api, email: str) -> dict[str, Any]:
    created = api.call("POST", "/customers", {"email": email})
    assert created.status == 201
    body: dict[str, Any] = created.body
    return body


# Ids in the path: 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/customers/{UNKNOWN}", None),
        ("PATCH", f"/customers/{UNKNOWN}", {"city": "Faro"}),
        ("DELETE", f"/customers/{UNKNOWN}", None),
        ("POST", f"/customers/{UNKNOWN}/consent", {"channel": "email", "state": "subscribed"}),
        ("GET", f"/customers/{UNKNOWN}/orders", None),
        ("GET", f"/customers/{UNKNOWN}/timeline", None),
        ("GET", "/segments/nope", None),
        ("GET", "/segments/nope/customers", None),
        ("GET", f"/jobs/{UNKNOWN}", None),
    ],
)
def test_a_path_naming_nothing_in_this_store_is_404(
    api: Api, method: str, path: str, body: Any
) -> None:
    assert refused(api.call(method, path, body), 404) == []


# Ids in the body: 422 naming the field, nothing changes


def test_a_merge_naming_an_unknown_kept_customer_is_422_naming_keep_id(api: Api) -> None:
    other = customer(api, "other@example.com")

    answer = api.call("POST", "/customers/merge", {"keep_id": UNKNOWN, "merge_ids": [other["id"]]})

    assert refused(answer, 422) == [("/keep_id", NO_CUSTOMER)]
    assert api.call("GET", f"/customers/{other['id']}").status == 200


def test_a_merge_names_every_unknown_id_at_once(api: Api) -> None:
    kept = customer(api, "kept@example.com")
    other = customer(api, "other@example.com")
    body = {"keep_id": kept["id"], "merge_ids": [other["id"], UNKNOWN, "nope"]}

    answer = api.call("POST", "/customers/merge", body)

    assert refused(answer, 422) == [
        ("/merge_ids/1", NO_CUSTOMER),
        ("/merge_ids/2", NO_CUSTOMER),
    ]
    assert api.call("GET", f"/customers/{other['id']}").status == 200


def test_a_review_of_an_unknown_customer_is_422_naming_customer_id(api: Api) -> None:
    review = {
        "review_id": "R-1",
        "customer_id": UNKNOWN,
        "product_id": "p1",
        "rating": 5,
        "at": "2026-03-01T10:00:00Z",
    }

    assert refused(api.call("POST", "/reviews", review), 422) == [("/customer_id", NO_CUSTOMER)]
    review["customer_id"] = customer(api, "r@example.com")["id"]
    assert api.call("POST", "/reviews", review).body["result"] == "created"  # the id was free


def test_a_bulk_action_on_an_unknown_segment_is_422_naming_it(api: Api) -> None:
    body = {"action": "favorite", "target": {"segment_id": "nope"}}

    answer = api.call("POST", "/customers/bulk", body)

    assert refused(answer, 422) == [("/target/segment_id", "No segment with this id in this store")]


def test_orders_naming_unknown_customers_are_422_naming_each(api: Api) -> None:
    known = customer(api, "buyer@example.com")["id"]
    base = {
        "email": "buyer@example.com",
        "placed_at": "2026-03-01T10:00:00Z",
        "currency": "EUR",
        "total": "10.00",
        "items": [
            {"product_id": "p1", "sku": "S1", "name": "Mug", "quantity": 1, "unit_price": "10.00"}
        ],
    }
    orders = [
        {**base, "order_id": "A-1", "customer_id": known},
        {**base, "order_id": "A-2"},
        {**base, "order_id": "A-3", "customer_id": UNKNOWN},
    ]

    answer = api.call("POST", "/orders", {"orders": orders})

    assert refused(answer, 422) == [("/orders/2/customer_id", NO_CUSTOMER)]
    assert api.call("GET", f"/customers/{known}").body["orders_count"] == 0


# Values that do not parse, in the query or a header: 422 naming them


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        ("/customers?created_from=yesterday", "/created_from"),
        ("/customers/count?last_seen_to=2026-02-30", "/last_seen_to"),
        ("/reports/purchase-frequency?from=yesterday&to=2026-03-31", "/from"),
        ("/reports/sales-by-customer?from=2026-03-01&to=03/31/2026", "/to"),
        ("/customers?limit=ten", "/limit"),
        ("/customers?cursor=garbage", "/cursor"),
        ("/tags?colour=red", "/colour"),  # a route that takes no query at all
    ],
)
def test_a_query_value_that_does_not_parse_is_422_naming_it(
    api: Api, path: str, pointer: str
) -> None:
    assert [p for p, _ in refused(api.call("GET", path), 422)] == [pointer]


def test_a_period_backwards_is_422_like_a_malformed_one(api: Api) -> None:
    answer = api.call("GET", "/reports/purchase-frequency?from=2026-03-31&to=2026-03-01")

    assert [p for p, _ in refused(answer, 422)] == ["/to"]


def test_a_header_that_does_not_parse_is_422_naming_it(api: Api) -> None:
    created = customer(api, "h@example.com")

    patched = api.call(
        "PATCH", f"/customers/{created['id']}", {"city": "Faro"}, headers={"if-match": "abc"}
    )
    keyed = api.call(
        "POST", "/customers", {"email": "k@example.com"}, headers={"idempotency-key": " "}
    )

    assert [p for p, _ in refused(patched, 422)] == ["/If-Match"]
    assert [p for p, _ in refused(keyed, 422)] == ["/Idempotency-Key"]


# 400: only a body that cannot be read


@pytest.mark.parametrize("raw", [b"{not json", b'{"email": NaN}', b"\xff\xfe", b""])
def test_only_a_body_that_cannot_be_read_is_400(api: Api, raw: bytes) -> None:
    answer = api.call("POST", "/customers", raw=raw)

    assert answer.status == 400
    assert answer.body["type"].endswith("/bad-request")
