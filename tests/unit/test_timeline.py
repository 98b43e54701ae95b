"""Timeline rules, with no AWS in sight: which changes become which entries, ids, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.customers.timeline import rules as timeline
from chalicelib.customers.timeline.models import ActivityBatch, TimelineQuery
from chalicelib.customers.timeline.rules import (
    PROFILE_FIELDS,
    Kind,
    ProductActivity,
    activity_entry,
    cart_kind,
    entries_for_change,
    entry_id,
    is_expired,
    link_without_query,
)
from chalicelib.customers.timeline.store import from_item, sort_key, to_item

WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# hypothesis takes naive bounds and attaches the zone itself
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
BASE: dict[str, Any] = {
    "id": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR",
    "email": "joao.silva@example.com.br",
    "phone": "+5511987654321",
    "first_name": "João",
    "city": "São Paulo",
    "country": "BR",
    "tags": ["vip"],
    "updated_at": "2026-11-23T12:00:00.000000Z",
    "version": Decimal(3),
}


def _consent(state: str, level: str = "single", source: str = "checkout") -> dict[str, Any]:
    return {
        "state": state,
        "opt_in_level": level,
        "updated_at": "2026-11-23T11:59:00.000000Z",
        "source": source,
    }


def _kinds(entries: list[timeline.TimelineEntry]) -> list[Kind]:
    return [entry.kind for entry in entries]


def test_a_profile_change_names_fields_but_never_personal_values() -> None:
    new = {**BASE, "email": "joao@example.com", "city": "Santos", "country": "PT"}

    (entry,) = entries_for_change(BASE, new, "stream/1")

    assert entry.kind is Kind.PROFILE_CHANGED
    assert entry.data == {
        "fields": ["email", "city", "country"],
        "values": {"country": {"old": "BR", "new": "PT"}},
    }
    text = repr(entry)
    assert "joao@example.com" not in text
    assert "Santos" not in text
    assert entry.at == WHEN
    assert entry.expires_at is None


def test_tags_changes_say_what_was_added_and_removed() -> None:
    new = {**BASE, "tags": ["newsletter", "wholesale"]}

    (entry,) = entries_for_change(BASE, new, "stream/1")

    assert entry.kind is Kind.TAGS_CHANGED
    assert entry.data == {"added": ["newsletter", "wholesale"], "removed": ["vip"]}


def test_consent_changes_give_one_entry_per_channel() -> None:
    old = {**BASE, "email_consent": _consent("subscribed")}
    new = {
        **BASE,
        "email_consent": _consent("unsubscribed", source="unsubscribe_link"),
        "sms_consent": _consent("subscribed", "confirmed", "admin"),
    }

    email, sms = entries_for_change(old, new, "stream/1")

    assert email.data == {
        "channel": "email",
        "old_state": "subscribed",
        "new_state": "unsubscribed",
        "opt_in_level": "single",
        "source": "unsubscribe_link",
    }
    assert sms.data["channel"] == "sms"
    assert (sms.data["old_state"], sms.data["new_state"]) == ("never_asked", "subscribed")
    assert email.at == datetime(2026, 11, 23, 11, 59, tzinfo=UTC)  # the consent's own time
    assert email.entry_id != sms.entry_id


def test_a_reconfirmed_consent_is_no_change_but_a_new_opt_in_level_is() -> None:
    old = {**BASE, "email_consent": _consent("subscribed")}
    same = {**BASE, "email_consent": {**_consent("subscribed"), "updated_at": "2026-12-01T00:00Z"}}
    confirmed = {**BASE, "email_consent": _consent("subscribed", "confirmed")}

    assert entries_for_change(old, same, "stream/1") == []
    assert _kinds(entries_for_change(old, confirmed, "stream/1")) == [Kind.CONSENT_CHANGED]


def test_a_new_customer_has_entries_only_for_consent_given_at_sign_up() -> None:
    assert entries_for_change(None, BASE, "stream/1") == []
    with_consent = {**BASE, "email_consent": _consent("subscribed")}
    (entry,) = entries_for_change(None, with_consent, "stream/1")
    assert entry.data["new_state"] == "subscribed"
    assert entry.data["old_state"] == "never_asked"
    never_asked = {**BASE, "email_consent": {"state": "never_asked"}, "sms_consent": None}
    assert entries_for_change(None, never_asked, "stream/1") == []
    assert entries_for_change(BASE, never_asked, "stream/1") == []


def test_deletions_and_other_attributes_give_nothing() -> None:
    seen = {**BASE, "last_seen_at": "2026-11-24T00:00:00Z", "orders_count": Decimal(4)}
    assert entries_for_change(BASE, None, "stream/1") == []
    assert entries_for_change(BASE, seen, "stream/1") == []


def test_without_updated_at_the_change_time_is_used() -> None:
    new = {**{k: v for k, v in BASE.items() if k != "updated_at"}, "city": "Recife"}
    old = {k: v for k, v in BASE.items() if k != "updated_at"}
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    (entry,) = entries_for_change(old, new, "stream/1", at=at)

    assert entry.at == at


profile_values = st.one_of(st.none(), st.text(max_size=5), st.booleans())


@given(
    changes=st.dictionaries(st.sampled_from(PROFILE_FIELDS), profile_values, max_size=6),
    cause=st.text(min_size=1, max_size=20),
)
def test_the_same_change_always_yields_the_same_entries(
    changes: dict[str, Any], cause: str
) -> None:
    new = {**BASE, **changes}

    first = entries_for_change(BASE, new, cause)
    again = entries_for_change(BASE, new, cause)

    assert first == again
    changed = sorted(name for name in PROFILE_FIELDS if BASE.get(name) != new.get(name))
    if changed:
        (entry,) = first
        assert sorted(entry.data["fields"]) == changed
        assert set(entry.data.get("values", {})) <= {"country", "language"}
    else:
        assert first == []


@given(a=st.text(max_size=30), b=st.text(max_size=30))
def test_entry_ids_differ_by_cause(a: str, b: str) -> None:
    assert (entry_id(a) == entry_id(b)) == (a == b)


def test_product_views_expire_after_90_days_and_other_kinds_never() -> None:
    view = ProductActivity(Kind.PRODUCT_VIEWED, WHEN, "p-1", price=Decimal("69.90"))
    cart = ProductActivity(Kind.ADDED_TO_CART, WHEN, "p-1", quantity=2)

    viewed, added = activity_entry("a/1", view), activity_entry("a/2", cart)

    assert viewed.expires_at == int((WHEN + timedelta(days=90)).timestamp())
    assert added.expires_at is None
    assert viewed.data == {"product_id": "p-1", "price": "69.90"}  # money: exact string
    assert added.data == {"product_id": "p-1", "quantity": 2}
    assert is_expired(Kind.PRODUCT_VIEWED, WHEN, WHEN + timedelta(days=90))
    assert not is_expired(Kind.PRODUCT_VIEWED, WHEN, WHEN + timedelta(days=89))
    assert not is_expired(Kind.ADDED_TO_CART, WHEN, WHEN + timedelta(days=900))
    assert viewed.expired(WHEN + timedelta(days=91))


def test_cart_kind_and_links() -> None:
    assert cart_kind(0) is Kind.REMOVED_FROM_CART
    assert cart_kind(3) is Kind.ADDED_TO_CART
    assert (
        link_without_query("https://shop.example/p/1?utm=x&token=secret#top")
        == "https://shop.example/p/1"
    )


@given(
    at=TIMES,
    quantity=st.integers(min_value=0, max_value=100_000),
)
def test_entries_survive_the_round_trip_through_an_item(at: datetime, quantity: int) -> None:
    activity = ProductActivity(
        Kind.PRODUCT_VIEWED, at, "p-9", price=Decimal("10.50"), quantity=quantity
    )
    entry = activity_entry("cause", activity)

    item = to_item("store-1", "01JD3Z6Q4W0W8Y5J3K2M1N0PQR", entry)

    assert item["pk"]["S"] == "STORE#store-1#CUSTOMER#01JD3Z6Q4W0W8Y5J3K2M1N0PQR"
    assert item["sk"]["S"] == sort_key(entry)
    assert from_item(item) == entry


@given(
    st.lists(
        TIMES,
        min_size=2,
        max_size=10,
    )
)
def test_sort_keys_sort_as_time_does(times: list[datetime]) -> None:
    entries = [
        activity_entry(f"c/{i}", ProductActivity(Kind.ADDED_TO_CART, t, "p"))
        for i, t in enumerate(times)
    ]
    by_key = sorted(entries, key=sort_key)
    assert [e.at for e in by_key] == sorted(times)


# The models of the endpoints


def test_the_kind_filter_names_kind_when_it_is_unknown() -> None:
    query = TimelineQuery.model_validate({"kind": ["email_sent", "purchased"]})
    assert query.kinds() == frozenset({Kind.EMAIL_SENT, Kind.PURCHASED})
    assert TimelineQuery.model_validate({}).kinds() is None
    with pytest.raises(ValidationError) as caught:
        TimelineQuery.model_validate({"kind": ["email_sent", "nope"]})
    assert [e["loc"] for e in caught.value.errors()] == [("kind",)]


AN_HOUR_AGO = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _activity(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": "ev-1",
        "kind": "product_viewed",
        "email": " Ana@Example.COM ",
        "at": AN_HOUR_AGO.astimezone(timezone(timedelta(hours=1))).isoformat(),
        "product_id": "p-1",
        **overrides,
    }


def test_activity_items_are_checked_and_normalised() -> None:
    batch = ActivityBatch.model_validate({"items": [_activity(price="19.90", ip="203.0.113.9")]})

    (item,) = batch.items
    assert item.email == "ana@example.com"
    assert item.at == AN_HOUR_AGO
    assert item.at.tzinfo is UTC
    assert item.price == Decimal("19.90")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (_activity(at=AN_HOUR_AGO.replace(tzinfo=None).isoformat()), "items.0.at"),  # no zone
        (_activity(at="2999-01-01T00:00:00Z"), "items.0.at"),
        (_activity(at="0001-01-01T00:00:00+14:00"), "items.0.at"),
        (_activity(kind="purchased"), "items.0.kind"),
        (_activity(email="not-an-email"), "items.0.email"),
        (_activity(email=None), "items.0"),
        (_activity(customer_id="nope"), "items.0.customer_id"),
        (_activity(price=12.5, quantity=-1), "items.0.quantity"),
        (_activity(ip="999.1.1.1"), "items.0.ip"),
        (_activity(currency="eur"), "items.0.currency"),
        (_activity(extra="x"), "items.0.extra"),
    ],
)
def test_bad_activity_items_are_named(item: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ActivityBatch.model_validate({"items": [item]})
    fields = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    assert field in fields


def test_a_batch_holds_1_to_100_items() -> None:
    with pytest.raises(ValidationError):
        ActivityBatch.model_validate({"items": []})
    with pytest.raises(ValidationError):
        ActivityBatch.model_validate({"items": [_activity(event_id=f"e{i}") for i in range(101)]})
    assert len(ActivityBatch.model_validate({"items": [_activity()] * 100}).items) == 100


_seen = st.builds(
    timeline.Seen,
    at=TIMES,
    device=st.none() | st.sampled_from(["app", "mobile", "desktop"]),
    ip=st.none() | st.sampled_from(["203.0.113.7", "2001:db8::1"]),
)


@given(st.lists(_seen, max_size=8), st.lists(_seen, max_size=8))
def test_latest_seen_keeps_each_fields_newest_known_value(
    first: list[timeline.Seen], second: list[timeline.Seen]
) -> None:
    merged = timeline.latest_seen(first + second)
    everything = first + second
    if not everything:
        assert merged is None
        return
    assert merged is not None
    assert merged.at == max(s.at for s in everything)
    for name in ("device", "ip"):
        known = [s for s in everything if getattr(s, name) is not None]
        if not known:
            assert getattr(merged, name) is None
            continue
        newest = max(s.at for s in known)
        assert getattr(merged, f"{name}_at") == newest
        assert getattr(merged, name) in {getattr(s, name) for s in known if s.at == newest}
    # Batches in any grouping and order: combining the partial results gives the same moments.
    parts = [p for p in (timeline.latest_seen(first), timeline.latest_seen(second)) if p]
    again = timeline.latest_seen(reversed(parts))
    assert again is not None
    assert (again.at, again.device_at, again.ip_at) == (merged.at, merged.device_at, merged.ip_at)


def test_money_in_entries_is_text_in_the_entrys_currency() -> None:
    with_money_text = timeline.with_money_text
    # What entries stored as numbers (trailing zeros lost) read back as.
    assert with_money_text({"total": Decimal("1250"), "currency": "JPY", "items": 2}) == {
        "total": "1250",
        "currency": "JPY",
        "items": 2,
    }
    assert with_money_text(
        {"amount": 100, "balance_after": Decimal("35.5"), "currency": "BRL"}
    ) == {
        "amount": "100.00",
        "balance_after": "35.50",
        "currency": "BRL",
    }
    assert with_money_text({"price": Decimal("7.45")}) == {"price": "7.45"}
