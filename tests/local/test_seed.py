"""The demo store: deterministic, valid for the API, and as varied as a real shop's customers.

The generated bodies are checked against the API's own models; `seed` itself against a fake
API (`responses`), for how it batches, retries and fails.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
import pytest
import requests
import responses
from email_validator import validate_email
from pydantic import BaseModel

from chalicelib.credits.coupons.models import NewCoupon
from chalicelib.credits.ledger.models import AdjustmentBody, DebitBody, GrantBody, ReversalBody
from chalicelib.credits.programmes.models import CreditsSettings
from chalicelib.credits.referrals.models import ProgrammeSettings
from chalicelib.customers.orders import rules as order_rules
from chalicelib.customers.orders.models import OrderBatch, ReviewIn
from chalicelib.customers.profiles.models import CustomerCreate
from chalicelib.customers.timeline.models import MAX_ACTIVITY_ITEMS, ActivityBatch
from clientela_local.seed import (
    ACTIVITY_PER_BATCH,
    COUPONS,
    EXPIRING_SOON,
    FRIENDS,
    MAIL_THREADS,
    ORDERS_PER_BATCH,
    PHOTOS,
    PROGRAMME,
    WALLETS,
    DemoHistory,
    SeedError,
    credit_plan,
    demo_customers,
    demo_history,
    friend_bodies,
    seed,
)
from clientela_local.seed_data import CATALOGUE, COUNTRY_BY_CODE, EVENTS, SERVICES, TAGS

TODAY = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
BASE = "http://seed.test"


@pytest.fixture(scope="module")
def customers() -> list[dict[str, Any]]:
    return demo_customers()


@pytest.fixture(scope="module")
def history(customers) -> DemoHistory:
    return demo_history(customers, today=TODAY)


def _wire(body: Any) -> str:
    """The body as it goes over the wire: JSON, so only JSON types."""
    return json.dumps(body)


def _orders_by_email(history: DemoHistory) -> dict[str, list[dict[str, Any]]]:
    by_email = defaultdict(list)
    for order in history.orders:
        by_email[order["email"]].append(order)
    return by_email


def _at(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, value
    return moment


# Customers --------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_customers():
    assert demo_customers(50) == demo_customers(50)
    assert demo_customers(50, seed=1) != demo_customers(50, seed=2)


def test_every_customer_is_accepted_by_the_customers_api(customers):
    for customer in customers:
        CustomerCreate.model_validate_json(_wire(customer))


def test_phones_are_valid_mobile_numbers_of_the_customers_country(customers):
    for customer in customers:
        if "phone" in customer:
            number = phonenumbers.parse(customer["phone"])
            assert phonenumbers.is_valid_number(number), customer
            assert phonenumbers.region_code_for_number(number) == customer["country"], customer
            assert customer["phone"] == phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164
            )


def test_emails_are_unique_and_valid(customers):
    emails = [c["email"] for c in customers if "email" in c]
    assert len(emails) == len(set(emails))
    for email in emails:
        validate_email(email, check_deliverability=False)


def test_the_store_looks_international(customers):
    assert {"BR", "PT", "ES", "AR", "MX", "IT", "GB", "US"} <= {c["country"] for c in customers}
    assert any(not c["last_name"].isascii() for c in customers)  # Gonçalves, Muñoz, ...
    assert any("email" not in c for c in customers)  # some only gave a phone
    assert any("phone" not in c for c in customers)
    tags = {tag for c in customers for tag in c["tags"]}
    assert {"vip", "wholesale", "newsletter", "winback"} <= tags <= set(TAGS)


def test_languages_follow_the_country(customers):
    for customer in customers:
        country = COUNTRY_BY_CODE[customer["country"]]
        assert customer["language"] in {country.language, "en-GB"}, customer
    languages = Counter(c["language"] for c in customers)
    assert {"pt-BR", "pt-PT", "es-ES", "es-MX", "it-IT", "en-GB", "en-US"} <= set(languages)
    assert languages["pt-BR"] > languages["en-GB"]  # Brazil is the biggest market


def test_profiles_are_filled_in_like_a_real_shops(customers):
    count = len(customers)

    def share(predicate) -> float:
        return sum(1 for c in customers if predicate(c)) / count

    assert 0.05 <= share(lambda c: c.get("favorite")) <= 0.15
    assert 0.3 <= share(lambda c: "region" in c) <= 0.8
    assert 0 < share(lambda c: "notes" in c) <= 0.1
    assert 0.5 <= share(lambda c: "gender" in c) < 1
    assert {c["gender"] for c in customers if "gender" in c} >= {"female", "male", "non_binary"}
    assert 0.2 <= share(lambda c: "engagement" in c) <= 0.5
    assert any("social" in c for c in customers)
    attributes = Counter(key for c in customers for key in c.get("attributes", {}))
    assert {"loyalty_tier", "shoe_size", "company_name"} <= set(attributes)
    for customer in customers:
        region = customer.get("region")
        if region is not None:  # the region of the customer's city
            cities = COUNTRY_BY_CODE[customer["country"]].cities
            assert (customer["city"], region) in {(city.name, city.region) for city in cities}


def test_birthdays_are_of_adults(customers):
    birthdays = [date.fromisoformat(c["birthday"]) for c in customers if "birthday" in c]
    assert 0.4 <= len(birthdays) / len(customers) <= 0.9
    for today in (TODAY.date(), date.today()):  # noqa: DTZ011 - any day from now on
        latest = today.replace(year=today.year - 18)
        assert all(date(1900, 1, 1) <= born <= latest for born in birthdays)


def test_consents_come_with_their_channel(customers):
    with_email = [c for c in customers if "email" in c]
    states = Counter(c.get("email_consent", {}).get("state", "never_asked") for c in with_email)
    assert 0.5 <= states["subscribed"] / len(with_email) <= 0.7
    assert states["unsubscribed"] > 0
    assert states["never_asked"] > 0
    for customer in customers:
        consent = customer.get("email_consent")
        if consent is not None:
            assert "email" in customer
            if consent["state"] == "subscribed":
                assert consent["opt_in_level"] in {"single", "confirmed"}
                assert consent["source"] in {"signup", "checkout"}
        if "sms_consent" in customer:
            assert "phone" in customer
        if "newsletter" in customer["tags"]:
            assert customer["email_consent"]["state"] == "subscribed"
    assert any("sms_consent" in c for c in customers)
    assert any("phone" in c and "sms_consent" not in c for c in customers)


# History ----------------------------------------------------------------------------------


def test_the_same_seed_and_day_give_the_same_history(customers, history):
    assert demo_history(customers, today=TODAY) == history
    assert demo_history(customers, today=TODAY, seed=7) != history
    assert demo_history(customers, today=TODAY + timedelta(days=1)) != history


def test_today_must_say_its_time_zone(customers):
    with pytest.raises(ValueError, match="time zone"):
        demo_history(customers, today=datetime(2026, 6, 1))  # noqa: DTZ001 - the point


def test_batches_fit_what_the_api_takes():
    assert ORDERS_PER_BATCH == order_rules.MAX_BATCH
    assert ACTIVITY_PER_BATCH == MAX_ACTIVITY_ITEMS


def test_every_order_batch_is_accepted_by_the_orders_api(history):
    batches = history.order_batches()
    assert [order for batch in batches for order in batch] != []
    assert sorted(o["order_id"] for b in batches for o in b) == sorted(
        o["order_id"] for o in history.orders
    )
    batch_of: dict[str, int] = {}
    for number, batch in enumerate(batches):
        assert 1 <= len(batch) <= ORDERS_PER_BATCH
        OrderBatch.model_validate_json(_wire({"orders": batch}))
        for order in batch:  # one e-mail's orders in one batch: batches never contend
            assert batch_of.setdefault(order["email"], number) == number


def test_order_ids_are_unique_and_numbered_as_placed(history):
    ids = [order["order_id"] for order in history.orders]
    assert len(ids) == len(set(ids))
    placed = [_at(order["placed_at"]) for order in history.orders]
    assert placed == sorted(placed)
    assert ids == sorted(ids)


def test_orders_add_up_in_the_customers_currency(customers, history):
    country_of = {c["email"]: c["country"] for c in customers if "email" in c}
    catalogue = {product.product_id: product for product in (*CATALOGUE, *SERVICES, *EVENTS)}
    for order in history.orders:
        lines = order["items"]
        assert Decimal(order["total"]) == sum(
            Decimal(line["unit_price"]) * line["quantity"] for line in lines
        )
        assert len({line["product_id"] for line in lines}) == len(lines)
        for line in lines:
            product = catalogue[line["product_id"]]
            assert Decimal(line["unit_price"]) == product.price(order["currency"])
            assert line["sku"].startswith(product.sku)
            assert (line["name"], line["brand"], line["category"]) == (
                product.name,
                product.brand,
                product.category,
            )
        if order["email"] in country_of:
            assert order["currency"] == COUNTRY_BY_CODE[country_of[order["email"]]].currency
    assert {o["currency"] for o in history.orders} == {"BRL", "EUR", "GBP", "USD"}


def test_some_customers_booked_services_and_event_tickets(history):
    bookings = [o for o in history.orders if o.get("kind") == "booking"]
    tickets = [o for o in history.orders if o.get("kind") == "ticket"]
    assert len(bookings) >= 10
    assert len(tickets) >= 5
    starts = [_at(o["booking"]["starts_at"]) for o in bookings]
    assert any(start > TODAY for start in starts)  # profiles show bookings to come
    assert any(start < TODAY for start in starts)
    for booking in bookings:
        assert _at(booking["placed_at"]) < _at(booking["booking"]["starts_at"])
        assert _at(booking["booking"]["starts_at"]) < _at(booking["booking"]["ends_at"])
    assert {o["ticket"]["event_id"] for o in tickets} <= {e.product_id for e in EVENTS}
    assert all("booking" not in o and "ticket" not in o for o in history.orders if "kind" not in o)


def test_orders_spread_over_two_years_up_to_today(history):
    placed = [_at(order["placed_at"]) for order in history.orders]
    assert max(placed) <= TODAY - timedelta(hours=1)
    assert min(placed) >= TODAY - timedelta(days=732)
    assert min(placed) < TODAY - timedelta(days=600)
    assert max(placed) > TODAY - timedelta(days=7)


def test_about_two_thirds_of_the_customers_ordered(customers, history):
    by_email = _orders_by_email(history)
    registered = [c for c in customers if c.get("email") in by_email]
    assert 0.55 <= len(registered) / len(customers) <= 0.75
    # Shop orders (bookings and tickets come on top, for a few of them).
    counts = Counter(len([o for o in by_email[c["email"]] if "kind" not in o]) for c in registered)
    assert set(counts) == set(range(1, 9))
    assert counts[1] == max(counts.values())  # most buy once
    assert all("email" in c for c in registered)  # phone-only customers never order online


def test_lapsed_customers_feed_the_win_back_story(customers, history):
    by_email = _orders_by_email(history)
    last_order = {
        email: max(_at(order["placed_at"]) for order in orders)
        for email, orders in by_email.items()
    }
    lapsed = {e for e, last in last_order.items() if last < TODAY - timedelta(days=90)}
    recent = {e for e, last in last_order.items() if last >= TODAY - timedelta(days=30)}
    assert len(lapsed) >= 30
    assert len(recent) >= 30
    for customer in customers:
        tags, email = set(customer["tags"]), customer.get("email")
        if "winback" in tags:
            assert email in lapsed, customer
        if "first-order" in tags:
            assert len(by_email[email]) == 1, customer
        if "repeat-buyer" in tags:
            assert len(by_email[email]) >= 2, customer


def test_vip_customers_are_big_spenders(customers, history):
    by_email = _orders_by_email(history)
    vips = [c for c in customers if "vip" in c["tags"]]
    assert vips
    for customer in vips:
        spent = sum(Decimal(order["total"]) for order in by_email[customer["email"]])
        assert spent > 500, customer
        assert customer["attributes"]["loyalty_tier"] == "gold"


def test_guest_checkouts_come_from_emails_without_a_profile(customers, history):
    profiles = {c["email"] for c in customers if "email" in c}
    guests = [order for order in history.orders if order["email"] not in profiles]
    assert len(guests) == 40
    assert len({order["email"] for order in guests}) < len(guests)  # a few came back
    for order in guests:
        validate_email(order["email"], check_deliverability=False)
        assert "customer_id" not in order
    assert all("customer_id" not in order for order in history.orders)  # named by e-mail


def test_reviews_rate_a_product_of_the_customers_order(history):
    orders = {order["order_id"]: order for order in history.orders}
    ids = [review["review_id"] for review in history.reviews]
    assert len(ids) == len(set(ids))
    assert 0.1 <= len(history.reviews) / len(history.orders) <= 0.3
    for review in history.reviews:
        ReviewIn.model_validate_json(_wire(review))
        order = orders[review["order_id"]]
        assert review["email"] == order["email"]
        assert review["product_id"] in {line["product_id"] for line in order["items"]}
        assert _at(order["placed_at"]) < _at(review["at"]) <= TODAY
    assert {review["rating"] for review in history.reviews} == {1, 2, 3, 4, 5}


def test_activity_batches_are_accepted_by_the_activity_api(history):
    batches = history.activity_batches()
    assert sum(len(batch) for batch in batches) == len(history.activity)
    batch_of: dict[str, int] = {}
    for number, batch in enumerate(batches):
        assert 1 <= len(batch) <= ACTIVITY_PER_BATCH
        ActivityBatch.model_validate_json(_wire({"items": batch}))
        for item in batch:
            assert batch_of.setdefault(item["email"], number) == number
    ids = [item["event_id"] for item in history.activity]
    assert len(ids) == len(set(ids))


def test_activity_of_the_last_30_days_makes_some_customers_active(customers, history):
    profiles = {c["email"] for c in customers if "email" in c}
    seen = {item["email"] for item in history.activity}
    assert seen <= profiles  # activity of strangers is not recorded by the API
    assert 0.25 <= len(seen) / len(profiles) <= 0.75  # the others stay inactive
    for item in history.activity:
        assert TODAY - timedelta(days=31) <= _at(item["at"]) <= TODAY
    kinds = Counter(item["kind"] for item in history.activity)
    assert kinds["product_viewed"] > kinds["added_to_cart"] > kinds["removed_from_cart"] > 0
    carts = {item["email"] for item in history.activity if item["kind"] == "added_to_cart"}
    for customer in customers:
        if "abandoned-cart" in customer["tags"]:
            assert customer["email"] in carts


def test_a_small_store_has_no_guests(customers):
    small = demo_customers(6)
    history = demo_history(small, today=TODAY)
    assert {order["email"] for order in history.orders} <= {c.get("email") for c in small}


# Seeding through the API (a fake one) -----------------------------------------------------


def _ok(request) -> tuple[int, dict[str, str], str]:
    body = json.loads(request.body)
    if request.url.endswith("/customers"):
        return 201, {}, json.dumps({"id": _customer_id(body)})
    if request.url.endswith("/orders"):
        results = [
            {"order_id": o["order_id"], "result": "created", "customer_id": "c"}
            for o in body["orders"]
        ]
        return 200, {}, json.dumps({"results": results})
    if request.url.endswith("/activity"):
        results = [
            {"event_id": i["event_id"], "status": "recorded", "customer_id": "c", "entry_id": "e"}
            for i in body["items"]
        ]
        return 200, {}, json.dumps({"results": results})
    return 200, {}, json.dumps({"review_id": body["review_id"], "result": "created"})


PHOTO_PATH = re.compile(rf"{re.escape(BASE)}/customers/[0-9A-Z]+/photo")


def _customer_id(body: dict[str, Any]) -> str:
    """A fake id that names the customer's e-mail, so the fake referrals API can flag."""
    name: str = body.get("email") or body["first_name"]
    return "C" + name.encode().hex().upper()


def _referral(request) -> tuple[int, dict[str, str], str]:
    body = json.loads(request.body)
    email = bytes.fromhex(body["customer_id"][1:]).decode()
    look_alike = email.split("@")[0].endswith("87")
    answer = {"id": f"R-{body['customer_id']}", "status": "flagged" if look_alike else "pending"}
    return 201, {}, json.dumps({**answer, "reason": "signed-up"})


def _credits_api(mock: responses.RequestsMock) -> None:
    """The credits routes the seed calls, and the local stack's controls."""
    mock.add(responses.PUT, f"{BASE}/referrals/programme", json={})
    mock.add(responses.PUT, f"{BASE}/credits/settings", json={})
    mock.add(responses.POST, f"{BASE}/_local/wait-idle", status=204)
    mock.add(responses.POST, f"{BASE}/_local/clock/advance", json={"fired": []})
    mock.add(responses.POST, f"{BASE}/referrers", json={"code": "K7P2QX9M"}, status=201)
    mock.add_callback(responses.POST, f"{BASE}/referrals", callback=_referral)
    mock.add(responses.POST, re.compile(rf"{re.escape(BASE)}/referrals/.+/voiding"), json={})
    entry = {"entry": {"entry_id": "E1"}}
    mock.add(responses.POST, re.compile(rf"{re.escape(BASE)}/wallets/.+"), json=entry, status=201)
    mock.add(responses.POST, f"{BASE}/coupons", json={}, status=201)
    mock.add(responses.POST, re.compile(rf"{re.escape(BASE)}/coupons/.+/redemptions"), json={})
    mock.add(responses.POST, f"{BASE}/exports", json={"id": "exp-1"}, status=202)
    data_export = re.compile(rf"{re.escape(BASE)}/customers/.+/data-export")
    mock.add(responses.POST, data_export, json={"id": "prv-1"}, status=202)


def _mail_api(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, f"{BASE}/templates", json={"items": []})
    mock.add(responses.POST, f"{BASE}/templates", json={"id": "T"}, status=201)
    messages = re.compile(rf"{re.escape(BASE)}/customers/[^/]+/messages")
    mock.add(responses.POST, messages, json={"id": "TH", "subject": "s"}, status=201)
    mock.add(responses.GET, f"{BASE}/health", json={"status": "ok", "aws": None})


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for path in ("/customers", "/orders", "/activity", "/reviews"):
            mock.add_callback(responses.POST, f"{BASE}{path}", callback=_ok)
        grant = {"upload_id": "U1", "url": f"{BASE}/bucket", "fields": {"key": "uploads/k"}}
        mock.add(
            responses.POST, re.compile(PHOTO_PATH.pattern + "/uploads"), json=grant, status=201
        )
        mock.add(responses.POST, f"{BASE}/bucket", status=204)
        mock.add(responses.PUT, PHOTO_PATH, json={"id": "c"})
        _credits_api(mock)
        _mail_api(mock)
        yield mock


@pytest.fixture(autouse=True)
def _no_pauses(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)


def _posted(api, path: str) -> list[Any]:
    return [json.loads(call.request.body) for call in api.calls if call.request.url == BASE + path]


def test_seed_creates_customers_then_their_history(api):
    customers = demo_customers(60)
    assert seed(BASE, "token", customers, store="s1", today=TODAY, credits=False) == 60
    history = demo_history(customers, today=TODAY)
    assert len(_posted(api, "/customers")) == 60
    headers = [c.request.headers for c in api.calls if c.request.url == BASE + "/customers"]
    assert {h["Idempotency-Key"] for h in headers} == {f"seed-s1-{i}" for i in range(60)}
    assert all(h["Authorization"] == "Bearer token" for h in headers)
    posted_orders = [order for batch in _posted(api, "/orders") for order in batch["orders"]]
    assert sorted(o["order_id"] for o in posted_orders) == sorted(
        o["order_id"] for o in history.orders
    )
    assert len(_posted(api, "/orders")) == len(history.order_batches())
    assert len(_posted(api, "/activity")) == len(history.activity_batches())
    assert len(_posted(api, "/reviews")) == len(history.reviews)
    # The first customers get an avatar: a presigned POST of a real PNG, then confirmed.
    uploads = [c.request for c in api.calls if c.request.url == f"{BASE}/bucket"]
    assert len(uploads) == PHOTOS
    assert all(b"\x89PNG" in request.body for request in uploads)
    confirmed = [c.request for c in api.calls if c.request.method == "PUT"]
    assert [json.loads(r.body) for r in confirmed] == [{"upload_id": "U1"}] * PHOTOS
    # Customers first, then orders: a history never names a customer not yet created.
    paths = [call.request.url.removeprefix(BASE) for call in api.calls]
    assert paths.index("/orders") > max(i for i, p in enumerate(paths) if p == "/customers")


def test_seed_without_history_creates_customers_only(api):
    assert seed(BASE, "token", demo_customers(5), history=False) == 5
    assert {call.request.url for call in api.calls} == {BASE + "/customers"}


def test_a_refused_customer_fails_the_seed_with_the_reason(api):
    api.replace(
        responses.POST,
        f"{BASE}/customers",
        status=422,
        json={"title": "Invalid", "detail": "Invalid fields", "errors": [{"field": "email"}]},
    )
    with pytest.raises(SeedError, match=r"customer \d+: 422 Invalid fields \(email"):
        seed(BASE, "token", demo_customers(5))


def test_a_refused_order_fails_the_seed_naming_it(api):
    def refuse(request):
        orders = json.loads(request.body)["orders"]
        results = [{"order_id": o["order_id"], "result": "created"} for o in orders]
        results[0] = {
            "order_id": orders[0]["order_id"],
            "result": "refused",
            "customer_id": None,
            "field": "email",
            "reason": "is not a valid e-mail address",
            "retry": False,
        }
        return 200, {}, json.dumps({"results": results})

    api.remove(responses.POST, f"{BASE}/orders")
    api.add_callback(responses.POST, f"{BASE}/orders", callback=refuse)
    with pytest.raises(SeedError, match=r"order DS-\d+: refused, email: is not a valid"):
        seed(BASE, "token", demo_customers(30), today=TODAY)


def test_orders_refused_as_busy_are_sent_again(api):
    attempts: Counter[str] = Counter()

    def busy_once(request):
        orders = json.loads(request.body)["orders"]
        results = []
        for order in orders:
            attempts[order["order_id"]] += 1
            first = attempts[order["order_id"]] == 1
            results.append(
                {
                    "order_id": order["order_id"],
                    "result": "refused" if first else "created",
                    "retry": first,
                }
            )
        return 200, {}, json.dumps({"results": results})

    api.remove(responses.POST, f"{BASE}/orders")
    api.add_callback(responses.POST, f"{BASE}/orders", callback=busy_once)
    customers = demo_customers(30)
    seed(BASE, "token", customers, today=TODAY, credits=False)
    assert set(attempts.values()) == {2}
    assert len(attempts) == len(demo_history(customers, today=TODAY).orders)


def test_a_busy_answer_is_waited_out(api):
    calls = Counter[str]()

    def busy_then_ok(request):
        calls[request.url] += 1
        if calls[request.url] == 1:
            return 503, {"Retry-After": "1"}, json.dumps({"title": "Busy"})
        return _ok(request)

    api.remove(responses.POST, f"{BASE}/reviews")
    api.add_callback(responses.POST, f"{BASE}/reviews", callback=busy_then_ok)
    customers = demo_customers(30)
    seed(BASE, "token", customers, today=TODAY, workers=1)
    assert calls[BASE + "/reviews"] == len(demo_history(customers, today=TODAY).reviews) + 1


def test_activity_of_a_missing_customer_fails_the_seed(api):
    def unknown(request):
        items = json.loads(request.body)["items"]
        results = [{"event_id": i["event_id"], "status": "unknown_customer"} for i in items]
        return 200, {}, json.dumps({"results": results})

    api.remove(responses.POST, f"{BASE}/activity")
    api.add_callback(responses.POST, f"{BASE}/activity", callback=unknown)
    with pytest.raises(SeedError, match=r"activity EV-\d+: unknown_customer"):
        seed(BASE, "token", demo_customers(30), today=TODAY)


def test_an_unreachable_api_fails_the_seed_clearly():
    refused = requests.exceptions.ConnectionError("connection refused")
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, f"{BASE}/customers", body=refused)
        with pytest.raises(SeedError, match=r"customer \d+: POST /customers failed"):
            seed(BASE, "token", demo_customers(3))


# Credits: wallets, referrals and coupons ----------------------------------------------------


def _calls(api, method: str, pattern: str) -> list[Any]:
    return [
        call.request
        for call in api.calls
        if call.request.method == method
        and re.fullmatch(pattern, call.request.url.removeprefix(BASE).split("?")[0])
    ]


def test_the_credit_plan_is_valid_for_the_credits_api_and_the_same_each_time():
    assert credit_plan(TODAY) == credit_plan(TODAY)
    plan = credit_plan(TODAY)
    for _wallet, kind, body in plan:
        models: dict[str, type[BaseModel]] = {
            "credit": GrantBody,
            "debit": DebitBody,
            "reversal": ReversalBody,
            "adjustment": AdjustmentBody,
        }
        model = models[kind]
        model.model_validate_json(_wire(body))
    grants = [body for _, kind, body in plan if kind == "credit"]
    assert {g["kind"] for g in grants} == {"referral", "bonus", "cashback", "refund", "manual"}
    expiries = [_at(g["expires_at"]) for g in grants if "expires_at" in g]
    assert any(at - TODAY <= timedelta(days=7) for at in expiries)  # credit.expiring's lead
    assert any(at - TODAY > timedelta(days=7) for at in expiries)
    assert all(at > TODAY for at in expiries)
    assert {w for w, _, _ in plan} == set(range(WALLETS))
    assert [kind for _, kind, _ in plan].count("debit") == 3
    assert [kind for _, kind, _ in plan].count("reversal") == 1
    assert [kind for _, kind, _ in plan].count("adjustment") == 1
    ProgrammeSettings.model_validate_json(_wire({**PROGRAMME, "hold_window_days": 0}))


def test_friends_are_valid_customers_and_one_looks_like_its_referrer(customers):
    friends = friend_bodies(customers)
    assert len(friends) == len(FRIENDS)
    emails = {c.get("email") for c in customers}
    for friend in friends:
        CustomerCreate.model_validate_json(_wire(friend))
        assert friend["email"] not in emails
    assert sum(f["email"].split("@")[0].endswith("87") for f in friends) == 1


def test_seed_adds_wallets_referrals_in_every_status_and_coupons(api):
    customers = demo_customers(60)
    seed(BASE, "token", customers, store="s1", today=TODAY)

    programmes = [json.loads(r.body) for r in _calls(api, "PUT", "/referrals/programme")]
    # A zero hold window while the rewarded friends order, then the usual two weeks.
    assert [p["hold_window_days"] for p in programmes] == [0, 14]
    # Cashback likewise: granted for the rewarded friends' orders, pending for the later one.
    settings = [json.loads(r.body) for r in _calls(api, "PUT", "/credits/settings")]
    assert [s["cashback"]["hold_window_days"] for s in settings] == [0, 14]
    assert all(s["cashback"]["enabled"] for s in settings)
    CreditsSettings.model_validate_json(_wire(settings[0]))
    assert len(_calls(api, "POST", "/referrers")) == 3
    signed_up = [json.loads(r.body) for r in _calls(api, "POST", "/referrals")]
    assert len(signed_up) == len(FRIENDS)
    assert {s["code"] for s in signed_up} == {"K7P2QX9M"}
    statuses = [status for *_, status in FRIENDS]
    assert set(statuses) == {"pending", "qualified", "flagged", "rewarded", "voided"}
    assert len(_calls(api, "POST", "/referrals/.+/voiding")) == statuses.count("voided")

    first_orders = [
        order
        for batch in _posted(api, "/orders")
        for order in batch["orders"]
        if order["order_id"].startswith("DS-REF-")
    ]
    assert len(first_orders) == statuses.count("rewarded") + statuses.count("qualified")
    OrderBatch.model_validate_json(_wire({"orders": first_orders}))

    credits = _calls(api, "POST", "/wallets/[^/]+/credits")
    assert len({r.headers["Idempotency-Key"] for r in credits}) == len(credits)
    kinds = {json.loads(r.body)["kind"] for r in credits}
    assert kinds == {"referral", "bonus", "cashback", "refund", "manual"}
    soon = TODAY + EXPIRING_SOON
    assert any(json.loads(r.body).get("expires_at") == soon.isoformat() for r in credits)
    assert len(_calls(api, "POST", "/wallets/[^/]+/debits")) == 3
    (reversal,) = _calls(api, "POST", "/wallets/[^/]+/debits/E1/reversal")
    assert json.loads(reversal.body) == {"amount": "5.00"}

    coupons = [json.loads(r.body) for r in _calls(api, "POST", "/coupons")]
    assert [c["code"] for c in coupons] == [c["code"] for c in COUPONS]
    for coupon in coupons:
        NewCoupon.model_validate_json(_wire({**coupon, "customer_id": "01J" + "0" * 23}))
    assert len({c["customer_id"] for c in coupons}) == 1
    (redeemed,) = _calls(api, "POST", "/coupons/.+/redemptions")
    assert redeemed.url.endswith(f"/coupons/{COUPONS[0]['code']}/redemptions")

    # The clock moves an hour (the reward job) after the rewarded friends' orders, before
    # the qualified one's.
    paths = [f"{c.request.method} {c.request.url.removeprefix(BASE)}" for c in api.calls]
    clock = paths.index("POST /_local/clock/advance?seconds=3600")
    order_posts = [i for i, p in enumerate(paths) if p == "POST /orders"]
    assert order_posts[-2] < clock < order_posts[-1]
    assert "POST /_local/wait-idle?timeout=50" in paths[:clock]


def test_seed_can_leave_credits_out(api):
    seed(BASE, "token", demo_customers(30), today=TODAY, credits=False)
    seed(BASE, "token", demo_customers(6), today=TODAY)  # too small a store for them
    assert not _calls(api, "POST", "/referrers")
    assert not _calls(api, "POST", "/wallets/.+")


def test_seed_adds_a_template_copy_and_conversations(api):
    customers = demo_customers(60)
    seed(BASE, "token", customers, store="s1", today=TODAY)

    [template] = [json.loads(r.body) for r in _calls(api, "POST", "/templates")]
    assert template["from_builtin"] == "builtin-abandoned-cart"
    messages = [
        c.request
        for c in api.calls
        if c.request.method == "POST" and c.request.url.endswith("/messages")
    ]
    assert [json.loads(r.body)["subject"] for r in messages] == [s for s, _ in MAIL_THREADS]
    assert [r.headers["Idempotency-Key"] for r in messages] == [
        "seed-s1-message-0",
        "seed-s1-message-1",
    ]
