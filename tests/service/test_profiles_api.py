"""The 360° profile over HTTP: every editable field, read-only ones refused, consent records,
tags with counts, filters and counts, merging duplicates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from tests.service.conftest import Api


def _q(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}"


FULL = {
    "email": "giulia.rossi@example.it",
    "phone": "+393471234567",
    "first_name": "Giulia",
    "last_name": "Rossi",
    "city": "Milano",
    "region": "Lombardia",
    "country": "it",
    "gender": "female",
    "birthday": "1990-04-12",
    "language": "it_it",
    "tags": ["VIP", "newsletter"],
    "favorite": True,
    "notes": "Prefers delivery after 6pm.",
    "attributes": {"shoe_size": 38, "loyalty_tier": "gold", "b2b": False, "credit_limit": 12.5},
    "social": {"facebook": "giulia.rossi.90"},
    "engagement": {"loyalty_stamps": 7, "shares": 2},
    "email_consent": {"state": "subscribed", "opt_in_level": "confirmed", "source": "signup"},
}


def test_every_editable_field_round_trips(api: Api) -> None:
    created = api.call("POST", "/customers", FULL)

    assert created.status == 201, created.body
    body = created.body
    assert (body["country"], body["language"], body["birthday"]) == ("IT", "it-IT", "1990-04-12")
    assert body["attributes"] == {
        "shoe_size": 38,
        "loyalty_tier": "gold",
        "b2b": False,
        "credit_limit": 12.5,
    }
    assert body["social"] == {"facebook": "giulia.rossi.90", "twitter": None, "google": None}
    assert body["engagement"]["loyalty_stamps"] == 7
    assert body["email_consent"]["state"] == "subscribed"
    assert body["email_consent"]["opt_in_level"] == "confirmed"
    assert body["email_consent"]["source"] == "signup"
    assert body["email_consent"]["updated_at"] is not None
    assert body["sms_consent"] == {
        "state": "never_asked",
        "opt_in_level": None,
        "updated_at": None,
        "source": None,
    }
    assert (body["orders_count"], body["total_spent"], body["status"]) == (0, "0", "inactive")
    assert body["signed_up_at"] == body["created_at"]
    fetched = api.call("GET", f"/customers/{body['id']}").body
    assert {k: v for k, v in fetched.items() if k != "segments"} == {
        k: v for k, v in body.items() if k != "segments"
    }


def test_read_only_fields_are_refused_by_name(api: Api) -> None:
    created = api.call("POST", "/customers", {"email": "ro@example.com"}).body

    patched = api.call(
        "PATCH",
        f"/customers/{created['id']}",
        {"total_spent": 10, "email_consent": {"state": "subscribed"}, "city": "Bari"},
    )

    assert patched.status == 422
    fields = {e["field"]: e["reason"] for e in patched.body["errors"]}
    assert set(fields) == {"total_spent", "email_consent"}
    assert "derived from orders" in fields["total_spent"]
    assert "/consent" in fields["email_consent"]
    assert api.call("GET", f"/customers/{created['id']}").body["city"] is None


def test_attributes_merge_key_by_key(api: Api) -> None:
    created = api.call("POST", "/customers", FULL).body

    patched = api.call(
        "PATCH",
        f"/customers/{created['id']}",
        {"attributes": {"shoe_size": None, "team": "red"}, "favorite": None},
    )

    assert patched.status == 200
    assert set(patched.body["attributes"]) == {"loyalty_tier", "b2b", "credit_limit", "team"}
    assert patched.body["favorite"] is False


def test_consent_changes_only_through_consent_operations(api: Api) -> None:
    customer = api.call("POST", "/customers", {"email": "c@example.com"}).body
    path = f"/customers/{customer['id']}/consent"

    subscribed = api.call("POST", path, {"channel": "email", "state": "subscribed"})
    again = api.call("POST", path, {"channel": "email", "state": "subscribed"})
    unsubscribed = api.call(
        "POST", path, {"channel": "email", "state": "unsubscribed", "source": "unsubscribe_link"}
    )
    sms = api.call("POST", path, {"channel": "sms", "state": "subscribed"})

    assert subscribed.body["email_consent"]["opt_in_level"] == "single"
    assert again.body["version"] == subscribed.body["version"]  # nothing new: nothing written
    assert unsubscribed.body["email_consent"] == {
        "state": "unsubscribed",
        "opt_in_level": None,
        "updated_at": unsubscribed.body["email_consent"]["updated_at"],
        "source": "unsubscribe_link",
    }
    assert sms.status == 422  # no phone to send SMS to
    assert [e["field"] for e in sms.body["errors"]] == ["sms_consent"]


def test_tags_are_listed_with_counts(api: Api) -> None:
    for tags in (["vip", "newsletter"], ["vip"], ["wholesale"]):
        api.call("POST", "/customers", {"phone": _phone(), "tags": tags})
    someone = api.call("POST", "/customers", {"phone": _phone(), "tags": ["gone"]}).body
    api.call("DELETE", f"/customers/{someone['id']}")

    tags = api.call("GET", "/tags").body["items"]

    assert tags == [
        {"tag": "newsletter", "customers": 1},
        {"tag": "vip", "customers": 2},
        {"tag": "wholesale", "customers": 1},
    ]


_PHONES = iter(range(10_000_000, 99_999_999, 7919))


def _phone() -> str:
    return f"+55119{next(_PHONES)}"


def test_filters_sort_and_count_over_http(api: Api) -> None:
    for name, country, tags in [
        ("João Silva", "BR", ["vip"]),
        ("José Souza", "BR", []),
        ("Ana Lima", "PT", ["vip"]),
    ]:
        first, last = name.split()
        body = {"phone": _phone(), "first_name": first, "last_name": last, "country": country}
        api.call("POST", "/customers", {**body, "tags": tags})

    found = api.call("GET", _q("/customers", {"q": "joão s"})).body
    by_country = api.call("GET", _q("/customers", {"country": "br", "sort": "name"})).body
    vip_br = api.call("GET", _q("/customers/count", {"tag": "vip", "country": "BR"})).body
    bad = api.call("GET", _q("/customers", {"q": "jo", "sort": "name"}))

    assert [c["first_name"] for c in found["items"]] == ["João"]
    assert [c["first_name"] for c in by_country["items"]] == ["João", "José"]
    assert by_country["sort"] == "name"
    assert vip_br == {"count": 1, "counted_by": "query"}  # two filters: read, not counted
    assert bad.status == 422
    assert [e["field"] for e in bad.body["errors"]] == ["sort"]


def test_a_cursor_belongs_to_its_query(api: Api) -> None:
    for _ in range(3):
        api.call("POST", "/customers", {"phone": _phone(), "country": "BR"})
    page = api.call("GET", _q("/customers", {"country": "BR", "limit": "1"})).body

    other = api.call("GET", _q("/customers", {"country": "PT", "cursor": page["next_cursor"]}))

    assert other.status == 422
    assert [e["field"] for e in other.body["errors"]] == ["cursor"]


def _merge(api: Api, keep: str, others: list[str], dry_run: bool) -> Any:
    return api.call(
        "POST", "/customers/merge", {"keep_id": keep, "merge_ids": others, "dry_run": dry_run}
    )


def test_merging_duplicates_previews_then_folds_them_into_one(api: Api) -> None:
    kept = api.call(
        "POST",
        "/customers",
        {"email": "ana@example.pt", "tags": ["vip"], "attributes": {"size": "M"}},
    ).body
    duplicate = api.call(
        "POST",
        "/customers",
        {
            "email": "ana.lima@example.pt",
            "phone": "+351912345678",
            "first_name": "Ana",
            "tags": ["newsletter"],
            "attributes": {"size": "L", "team": "blue"},
            "email_consent": {"state": "unsubscribed", "source": "unsubscribe_link"},
        },
    ).body

    preview = _merge(api, kept["id"], [duplicate["id"]], dry_run=True)

    assert preview.status == 200, preview.body
    assert preview.body["merge_id"] is None
    assert preview.body["customer"]["tags"] == ["newsletter", "vip"]
    assert preview.body["fields_filled"] == ["first_name", "phone"]
    assert api.call("GET", f"/customers/{duplicate['id']}").status == 200  # nothing changed

    merged = _merge(api, kept["id"], [duplicate["id"]], dry_run=False)

    assert merged.status == 200, merged.body
    profile = api.call("GET", f"/customers/{kept['id']}").body
    assert profile["tags"] == ["newsletter", "vip"]
    assert profile["attributes"] == {"size": "M", "team": "blue"}
    assert (profile["first_name"], profile["phone"]) == ("Ana", "+351912345678")
    assert profile["email"] == "ana@example.pt"
    assert profile["email_consent"]["state"] == "unsubscribed"  # the most restrictive
    assert api.call("GET", f"/customers/{duplicate['id']}").status == 404
    # The duplicate's e-mail is free again.
    assert api.call("POST", "/customers", {"email": "ana.lima@example.pt"}).status == 201


def test_a_merge_names_what_is_wrong(api: Api) -> None:
    kept = api.call("POST", "/customers", {"phone": _phone()}).body

    itself = _merge(api, kept["id"], [kept["id"]], dry_run=True)
    unknown = _merge(api, kept["id"], ["01JD3Z6Q4W0W8Y5J3K2M1N0PQR"], dry_run=True)

    assert itself.status == 422
    assert [e["field"] for e in itself.body["errors"]] == ["merge_ids"]
    assert unknown.status == 422
    assert [e["field"] for e in unknown.body["errors"]] == ["merge_ids.0"]


def _order(order_id: str, email: str, total: str, placed_at: str) -> dict[str, Any]:
    line = {"product_id": "p1", "sku": "S1", "name": "Mug", "quantity": 1, "unit_price": total}
    return {
        "order_id": order_id,
        "email": email,
        "placed_at": placed_at,
        "currency": "EUR",
        "total": total,
        "items": [line],
    }


def test_a_merge_moves_orders_and_their_aggregates(api: Api) -> None:
    kept = api.call("POST", "/customers", {"email": "keep@example.es"}).body
    duplicate = api.call("POST", "/customers", {"email": "dup@example.es"}).body
    orders = [
        _order("M-1", "keep@example.es", "10.00", "2026-03-01T10:00:00Z"),
        _order("M-2", "dup@example.es", "25.50", "2025-12-24T18:00:00Z"),
        _order("M-3", "dup@example.es", "4.50", "2026-06-30T09:00:00Z"),
    ]
    assert api.call("POST", "/orders", {"orders": orders}).status == 200

    preview = _merge(api, kept["id"], [duplicate["id"]], dry_run=True).body
    merged = _merge(api, kept["id"], [duplicate["id"]], dry_run=False).body

    assert preview["orders_moved"] == merged["orders_moved"] == 2
    profile = api.call("GET", f"/customers/{kept['id']}").body
    assert profile["orders_count"] == 3
    assert Decimal(profile["total_spent"]) == Decimal("40.00")
    assert profile["first_order_at"].startswith("2025-12-24T18:00")
    assert profile["last_order_at"].startswith("2026-06-30T09:00")
    listed = api.call("GET", f"/customers/{kept['id']}/orders").body["items"]
    assert [o["order_id"] for o in listed] == ["M-3", "M-1", "M-2"]
    # Moved orders are the kept customer's from now on: a replay changes nothing.
    assert api.call("POST", "/orders", {"orders": orders}).status == 200
    assert api.call("GET", f"/customers/{kept['id']}").body["orders_count"] == 3
