"""Refer-a-friend against moto: the programme and its referrers."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chalice.test import Client

from chalicelib.credits.publishing import event_for
from chalicelib.credits.referrals.rules import Reason, Status, month_of
from clientela.events import OutgoingEvent
from clientela_events.customers import CustomerCreatedV1, CustomerUpdatedV1, CustomerV1
from clientela_events.storefront import OrderCancelledV1, OrderPlacedV1, OrderRefundedV1
from tests.service.conftest import Api
from tests.service.test_credits_consumer import WHEN, created, deleted, sqs_record, stream_records
from tests.service.test_credits_coupons_api import JOAO, MARIA

ANA = "01JD50000000000000000000AN"
BEA = "01JD50000000000000000000BE"

PROGRAMME = {
    "referrer_reward": "20",
    "friend_reward": "10.00",
    "currency": "BRL",
    "expiry_days": 90,
    "hold_window_days": 14,
    "monthly_cap": 5,
    "share_base_url": "https://loja.example.com.br/indique?lang=pt",
}


@pytest.fixture
def deliver(apps: dict[str, Any]) -> Any:
    from clientela_local.lambda_context import new_context

    def run(*records: dict[str, Any]) -> Any:
        context = new_context(
            "clientela-credits", "on_customer_event", region="us-east-1", account="123456789012"
        )
        return apps["credits"].on_customer_event({"Records": list(records)}, context)

    return run


@pytest.fixture
def credits(apps: dict[str, Any], headers: dict[str, str], deliver: Any, store_id: str) -> Any:
    deliver(sqs_record(created(store_id, MARIA)), sqs_record(created(store_id, JOAO)))
    with Client(apps["credits"].app) as client:
        yield Api(client, headers)


@pytest.fixture
def programme(credits: Api) -> Any:
    answer = credits.call("PUT", "/referrals/programme", PROGRAMME)
    assert answer.status == 200, answer.body
    return answer.body


def test_the_programme_is_kept_with_the_currency_s_minor_units(
    credits: Api, programme: Any
) -> None:
    assert programme["referrer_reward"] == "20.00"
    assert programme["friend_reward"] == "10.00"
    assert credits.call("GET", "/referrals/programme").body == programme


def test_the_programme_is_versioned_with_if_match(credits: Api, programme: Any) -> None:
    assert programme["version"] == 1
    assert credits.call("GET", "/referrals/programme").headers["etag"] == '"1"'
    changed = {**PROGRAMME, "friend_reward": "15.00"}
    missing = credits.call("PUT", "/referrals/programme", changed)
    assert missing.status == 428
    moved = credits.call("PUT", "/referrals/programme", changed, headers={"If-Match": '"1"'})
    assert (moved.status, moved.headers["etag"]) == (200, '"2"')
    stale = credits.call("PUT", "/referrals/programme", PROGRAMME, headers={"If-Match": '"1"'})
    assert stale.status == 412
    assert (stale.body["current_version"], stale.headers["etag"]) == (2, '"2"')
    shown = credits.call("GET", "/referrals/programme").body
    assert (shown["friend_reward"], shown["version"]) == ("15.00", 2)


def test_a_store_without_a_programme(credits: Api) -> None:
    assert credits.call("GET", "/referrals/programme").status == 409
    answer = credits.call("POST", "/referrers", {"customer_id": MARIA})
    assert answer.status == 409
    assert answer.body["type"].endswith("/no-referral-programme")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"referrer_reward": "0"}, "referrer_reward"),
        ({"referrer_reward": "-1"}, "referrer_reward"),
        ({"friend_reward": "1.001"}, "friend_reward"),
        ({"currency": "JPY"}, "referrer_reward"),  # "10.00" has decimals a yen does not
        ({"hold_window_days": -1}, "hold_window_days"),
        ({"monthly_cap": 0}, "monthly_cap"),
        ({"share_base_url": "not a url"}, "share_base_url"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_programme_settings_are_refused_and_change_nothing(
    credits: Api, programme: Any, fields: dict[str, Any], field: str
) -> None:
    body = {**PROGRAMME, **fields}
    if fields.get("currency") == "JPY":
        body["referrer_reward"] = "20.50"

    answer = credits.call("PUT", "/referrals/programme", body)

    assert answer.status == 422, answer.body
    assert field in [error["field"] for error in answer.body["errors"]]
    assert credits.call("GET", "/referrals/programme").body == programme


def test_enrolling_gives_a_code_and_a_share_link_once(credits: Api, programme: Any) -> None:
    first = credits.call("POST", "/referrers", {"customer_id": MARIA})
    again = credits.call("POST", "/referrers", {"customer_id": MARIA})
    other = credits.call("POST", "/referrers", {"customer_id": JOAO})

    assert first.status == 201
    assert again.status == 200
    assert again.body == first.body
    link = urlsplit(first.body["share_link"])
    assert link.netloc == "loja.example.com.br"
    assert parse_qs(link.query) == {"lang": ["pt"], "ref": [first.body["code"]]}
    assert other.body["code"] != first.body["code"]
    assert credits.call("GET", f"/referrers/{MARIA}").body == first.body


def test_an_unknown_or_deleted_customer_cannot_enrol(
    credits: Api, programme: Any, deliver: Any, store_id: str
) -> None:
    deliver(sqs_record(deleted(store_id, JOAO)))

    for customer_id in (JOAO, "01JD50000000000000000000ZZ"):
        answer = credits.call("POST", "/referrers", {"customer_id": customer_id})
        assert answer.status == 422
        assert answer.body["errors"][0]["field"] == "customer_id"
        assert credits.call("GET", f"/referrers/{customer_id}").status == 404


def test_concurrent_enrolments_of_one_customer_give_one_code(
    credits: Api, programme: Any, store_id: str
) -> None:
    from chalicelib.credits.referrals import usecases

    barrier = threading.Barrier(4)
    codes: list[str] = []

    def enrol() -> None:
        barrier.wait()
        codes.append(usecases.enrol(store_id, MARIA)[0].code)

    threads = [threading.Thread(target=enrol) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(codes)) == 1
    assert credits.call("GET", f"/referrers/{MARIA}").body["code"] == codes[0]


def customer_event(
    store_id: str, customer_id: str, email: str, phone: str | None = None, version: int = 1
) -> OutgoingEvent:
    customer = CustomerV1(
        id=customer_id,
        email=email,
        phone=phone,
        created_at=WHEN,
        updated_at=WHEN,
        version=version,
    )
    if version == 1:
        return OutgoingEvent(
            "customer.created",
            1,
            uuid.uuid4(),
            store_id,
            WHEN,
            CustomerCreatedV1(customer=customer),
        )
    data = CustomerUpdatedV1(old=customer, new=customer, changed=["email"])
    return OutgoingEvent("customer.updated", 1, uuid.uuid4(), store_id, WHEN, data)


_ITEM = {
    "product_id": "p-1",
    "sku": "CANECA-1",
    "name": "Caneca",
    "brand": "Loja",
    "category": "Casa",
    "quantity": 1,
    "unit_price": "100.00",
}


def placed(store_id: str, customer_id: str, order_id: str, at: datetime = WHEN) -> OutgoingEvent:
    data = OrderPlacedV1(
        order_id=order_id,
        customer_id=customer_id,
        placed_at=at,
        email="friend@example.com",
        currency="BRL",
        total="100.00",
        items=[_ITEM],
    )
    return OutgoingEvent("order.placed", 1, uuid.uuid4(), store_id, at, data)


def cancelled(store_id: str, order_id: str) -> OutgoingEvent:
    data = OrderCancelledV1(order_id=order_id, cancelled_at=WHEN)
    return OutgoingEvent("order.cancelled", 1, uuid.uuid4(), store_id, WHEN, data)


def refunded(store_id: str, order_id: str) -> OutgoingEvent:
    data = OrderRefundedV1(order_id=order_id, refund_id="RF-1", amount="10.00", refunded_at=WHEN)
    return OutgoingEvent("order.refunded", 1, uuid.uuid4(), store_id, WHEN, data)


@pytest.fixture
def offer(apps: dict[str, Any]) -> Any:
    from clientela_local.lambda_context import new_context

    def run(*events: OutgoingEvent) -> Any:
        context = new_context(
            "clientela-credits", "on_offer_event", region="us-east-1", account="123456789012"
        )
        records = [sqs_record(event) for event in events]
        return apps["credits"].on_offer_event({"Records": records}, context)

    return run


@pytest.fixture
def people(credits: Api, deliver: Any, offer: Any, store_id: str) -> None:
    """Maria refers; João, Ana and Bea are new customers the credits service knows."""
    deliver(sqs_record(created(store_id, ANA)), sqs_record(created(store_id, BEA)))
    offer(
        customer_event(store_id, MARIA, "maria.silva@gmail.com", "+5511987654321"),
        customer_event(store_id, JOAO, "joao.pereira@example.com"),
        customer_event(store_id, ANA, "ana@example.org", "+5511911112222"),
        customer_event(store_id, BEA, "m.a.r.i.a.silva+friend@googlemail.com"),
    )


@pytest.fixture
def code(credits: Api, programme: Any, people: None) -> str:
    answer = credits.call("POST", "/referrers", {"customer_id": MARIA, "ip": "203.0.113.7"})
    assert answer.status == 201
    return str(answer.body["code"])


def sign_up(credits: Api, code: str, customer_id: str, **fields: Any) -> Any:
    return credits.call("POST", "/referrals", {"code": code, "customer_id": customer_id, **fields})


def test_a_friend_signs_up_with_the_code_once(credits: Api, code: str) -> None:
    first = sign_up(credits, code.lower(), JOAO, ip="198.51.100.1")
    again = sign_up(credits, code, JOAO)

    assert first.status == 201, first.body
    assert (first.body["status"], first.body["reason"]) == ("pending", "signed-up")
    assert first.body["referrer_id"] == MARIA
    assert again.status == 200
    assert again.body == first.body
    assert credits.call("GET", f"/referrals/{first.body['id']}").body == first.body


@pytest.mark.parametrize(
    ("friend", "reason"),
    [(MARIA, "self-referral"), (BEA, "self-referral")],  # Bea's is Maria's Gmail mailbox
)
def test_self_referral_is_refused_and_makes_nothing(
    credits: Api, code: str, friend: str, reason: str
) -> None:
    answer = sign_up(credits, code, friend)

    assert answer.status == 409
    assert answer.body["reason"] == reason
    assert credits.call("GET", f"/referrals?referrer_id={MARIA}").body["items"] == []


def test_the_same_phone_is_a_self_referral(
    credits: Api, code: str, offer: Any, store_id: str
) -> None:
    offer(customer_event(store_id, ANA, "ana@example.org", "+5511987654321", version=2))

    assert sign_up(credits, code, ANA).body["reason"] == "self-referral"


def test_an_existing_customer_cannot_be_referred(
    credits: Api, code: str, offer: Any, store_id: str
) -> None:
    offer(placed(store_id, JOAO, "BR-1"))

    assert sign_up(credits, code, JOAO).body["reason"] == "existing-customer"


def test_the_first_referrer_wins(credits: Api, code: str) -> None:
    other = credits.call("POST", "/referrers", {"customer_id": ANA}).body["code"]
    sign_up(credits, code, JOAO)

    answer = sign_up(credits, other, JOAO)

    assert answer.status == 409
    assert answer.body["reason"] == "already-referred"


def test_look_alikes_are_flagged_for_review(
    credits: Api, code: str, offer: Any, store_id: str
) -> None:
    offer(customer_event(store_id, ANA, "maria.silva77@example.org", version=2))

    similar = sign_up(credits, code, ANA).body
    same_ip = sign_up(credits, code, JOAO, ip="203.0.113.7").body

    assert (similar["status"], similar["reason"]) == ("flagged", "similar-email")
    assert (same_ip["status"], same_ip["reason"]) == ("flagged", "same-ip")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"code": "NOPE2345", "customer_id": JOAO}, 422, "code"),
        ({"code": "bad code!", "customer_id": JOAO}, 422, "code"),
        ({"code": "ABCD2345", "customer_id": "01JD50000000000000000000ZZ"}, 422, "customer_id"),
        ({"code": "ABCD2345", "customer_id": JOAO, "ip": "not-an-ip"}, 422, "ip"),
    ],
)
def test_bad_sign_ups_are_refused_naming_the_field(
    credits: Api, code: str, body: dict[str, Any], status: int, field: str
) -> None:
    answer = credits.call("POST", "/referrals", body)

    assert answer.status == status, answer.body
    assert field in [error["field"] for error in answer.body["errors"]]
    assert credits.call("GET", f"/referrals?referrer_id={MARIA}").body["items"] == []


def test_the_friend_s_first_order_qualifies_it_with_the_hold_window(
    credits: Api, code: str, offer: Any, store_id: str
) -> None:
    referral = sign_up(credits, code, JOAO).body
    event = placed(store_id, JOAO, "BR-1")

    assert offer(event, event) == {"batchItemFailures": []}  # redelivered too
    offer(placed(store_id, JOAO, "BR-2", WHEN + timedelta(days=1)))  # not the first

    body = credits.call("GET", f"/referrals/{referral['id']}").body
    assert (body["status"], body["reason"], body["order_id"]) == (
        "qualified",
        "first-order-paid",
        "BR-1",
    )
    assert datetime.fromisoformat(body["reward_due_at"]) == WHEN + timedelta(days=14)


@pytest.mark.parametrize(
    ("undo", "reason"), [(cancelled, "order-cancelled"), (refunded, "order-refunded")]
)
def test_a_cancelled_or_refunded_first_order_voids_it(
    credits: Api, code: str, offer: Any, store_id: str, *, undo: Any, reason: str
) -> None:
    referral = sign_up(credits, code, JOAO).body
    offer(placed(store_id, JOAO, "BR-1"))

    offer(undo(store_id, "BR-1"))

    body = credits.call("GET", f"/referrals/{referral['id']}").body
    assert (body["status"], body["reason"]) == ("voided", reason)


def test_a_cancellation_that_overtakes_its_order_still_voids(
    credits: Api, code: str, offer: Any, store_id: str
) -> None:
    referral = sign_up(credits, code, JOAO).body

    offer(cancelled(store_id, "BR-1"))
    offer(placed(store_id, JOAO, "BR-1"))

    body = credits.call("GET", f"/referrals/{referral['id']}").body
    assert (body["status"], body["reason"]) == ("voided", "order-cancelled")


def test_a_flagged_referral_waits_for_the_admin(
    credits: Api, code: str, offer: Any, store_id: str
) -> None:
    flagged = sign_up(credits, code, JOAO, ip="203.0.113.7").body
    offer(placed(store_id, JOAO, "BR-1"))
    assert credits.call("GET", f"/referrals/{flagged['id']}").body["status"] == "flagged"

    approved = credits.call("POST", f"/referrals/{flagged['id']}/approval")

    assert approved.status == 200
    assert (approved.body["status"], approved.body["reason"]) == ("qualified", "approved-by-admin")
    assert approved.body["order_id"] == "BR-1"
    assert credits.call("POST", f"/referrals/{flagged['id']}/approval").status == 409


def test_the_admin_voids_a_referral_once(credits: Api, code: str) -> None:
    referral = sign_up(credits, code, JOAO).body

    voided = credits.call("POST", f"/referrals/{referral['id']}/voiding")
    again = credits.call("POST", f"/referrals/{referral['id']}/voiding")

    assert (voided.body["status"], voided.body["reason"]) == ("voided", "voided-by-admin")
    assert again.status == 409
    assert credits.call("POST", "/referrals/01JD50000000000000000000ZZ/voiding").status == 404


def test_a_referrer_s_referrals_page_by_page_and_by_status(
    credits: Api, code: str, deliver: Any, offer: Any, store_id: str
) -> None:
    friends = [f"01JD6000000000000000000{n:03d}" for n in range(5)]
    deliver(*(sqs_record(created(store_id, friend)) for friend in friends))
    offer(*(customer_event(store_id, f, f"friend{n}@example.net") for n, f in enumerate(friends)))
    made = [sign_up(credits, code, friend).body["id"] for friend in friends]
    credits.call("POST", f"/referrals/{made[1]}/voiding")

    seen: list[str] = []
    cursor = None
    while True:
        query = f"/referrals?referrer_id={MARIA}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = credits.call("GET", query).body
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    voided = credits.call("GET", f"/referrals?referrer_id={MARIA}&status=voided").body

    assert seen == sorted(made, reverse=True)
    assert [item["id"] for item in voided["items"]] == [made[1]]
    other = credits.call("GET", f"/referrals?referrer_id={ANA}&cursor={cursor or 'x'}")
    assert other.status == 422


def test_the_monthly_cap_sends_rewards_to_review(
    credits: Api, code: str, deliver: Any, offer: Any, store_id: str
) -> None:
    from chalicelib.credits.referrals import usecases

    capped = {**PROGRAMME, "monthly_cap": 1}
    assert (
        credits.call("PUT", "/referrals/programme", capped, headers={"If-Match": "*"}).status == 200
    )
    friends = [f"01JD7000000000000000000{n:03d}" for n in range(2)]
    deliver(*(sqs_record(created(store_id, friend)) for friend in friends))
    offer(*(customer_event(store_id, f, f"pal{n}@example.net") for n, f in enumerate(friends)))
    made = [sign_up(credits, code, friend).body["id"] for friend in friends]
    offer(*(placed(store_id, friend, f"BR-{n}") for n, friend in enumerate(friends)))
    # The first referral is rewarded this month already (its grants are the ledger's business).
    due = WHEN + timedelta(days=15)
    usecases.referral_store().change(
        replace(
            usecases.get_referral(store_id, made[0]),
            status=Status.REWARDED,
            reason=Reason.HOLD_WINDOW_PASSED,
        ),
        Status.QUALIFIED,
        extra=[usecases.referral_store().cap_item(store_id, MARIA, month_of(due), 1)],
        due=False,
    )

    assert usecases.reward(store_id, made[1], due) == "capped"

    body = credits.call("GET", f"/referrals/{made[1]}").body
    assert (body["status"], body["reason"]) == ("flagged", "monthly-cap-reached")


def test_nothing_is_rewarded_before_the_hold_window(
    credits: Api, code: str, offer: Any, store_id: str
) -> None:
    from chalicelib.credits.referrals import usecases

    referral = sign_up(credits, code, JOAO).body
    offer(placed(store_id, JOAO, "BR-1"))

    assert (store_id, referral["id"]) not in usecases.referral_store().due(
        WHEN + timedelta(days=13)
    )
    assert (store_id, referral["id"]) in usecases.referral_store().due(WHEN + timedelta(days=14))
    assert usecases.reward(store_id, referral["id"], WHEN + timedelta(days=13)) == "not-due"
    assert credits.call("GET", f"/referrals/{referral['id']}").body["status"] == "qualified"


def test_the_scheduled_job_takes_its_now_from_the_scheduled_event(apps: dict[str, Any]) -> None:
    from clientela_local.lambda_context import new_context

    context = new_context(
        "clientela-credits", "reward_due_referrals", region="us-east-1", account="123456789012"
    )
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2000-01-01T00:00:00Z",  # before anything could fall due
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }

    assert apps["credits"].reward_due_referrals(event, context) == {}


def test_a_referral_whose_grant_fails_stays_due_and_the_others_go_on(
    credits: Api, code: str, offer: Any, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A grant that fails (the ledger down, a wallet closed): the job goes on with the others
    # and keeps the referral on the due list for the next run (the grants are idempotent).
    from chalicelib.credits.referrals import usecases

    def failing(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(usecases, "_reward", failing)
    referral = sign_up(credits, code, JOAO).body
    offer(placed(store_id, JOAO, "BR-1"))
    due = WHEN + timedelta(days=14)

    outcomes = usecases.reward_due(due)

    assert outcomes.get("failed", 0) >= 1
    assert (store_id, referral["id"]) in usecases.referral_store().due(due)
    assert credits.call("GET", f"/referrals/{referral['id']}").body["status"] == "rewarded"


def test_two_referrers_racing_for_one_friend_one_wins(
    credits: Api, code: str, store_id: str
) -> None:
    from chalicelib.credits.referrals import usecases

    other = credits.call("POST", "/referrers", {"customer_id": ANA}).body["code"]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(with_code: str) -> None:
        barrier.wait()
        try:
            usecases.refer(store_id, code=with_code, friend_id=JOAO, ip=None)
            outcomes.append("referred")
        except usecases.SignUpRefused as refused:
            outcomes.append(refused.reason.value)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in (code, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already-referred", "referred"]
    listed = [
        len(credits.call("GET", f"/referrals?referrer_id={referrer}").body["items"])
        for referrer in (MARIA, ANA)
    ]
    assert sorted(listed) == [0, 1]


def test_the_store_s_review_queue_pages_over_every_shard(
    credits: Api, code: str, deliver: Any, offer: Any, store_id: str
) -> None:
    friends = [f"01JD8000000000000000000{n:03d}" for n in range(7)]
    deliver(*(sqs_record(created(store_id, friend)) for friend in friends))
    offer(*(customer_event(store_id, f, f"buddy{n}@example.net") for n, f in enumerate(friends)))
    # Signed up from the referrer's IP: flagged for review. One is approved, so leaves the queue.
    made = [sign_up(credits, code, f, ip="203.0.113.7").body["id"] for f in friends]
    credits.call("POST", f"/referrals/{made[3]}/approval")

    seen: list[str] = []
    cursor = None
    while True:
        query = "/referrals?status=flagged&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = credits.call("GET", query).body
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == sorted((m for m in made if m != made[3]), reverse=True)
    pending = credits.call("GET", "/referrals?status=pending").body["items"]
    assert [item["id"] for item in pending] == [made[3]]
    neither = credits.call("GET", "/referrals")
    assert neither.status == 422
    assert {e["field"] for e in neither.body["errors"]} == {"referrer_id", "status"}


def merge_event(store_id: str, kept: str, *merged: str, merge_id: str = "m-1") -> dict[str, Any]:
    from clientela_events.customers import CustomerMergedV1

    data = CustomerMergedV1(
        merge_id=merge_id, kept_id=kept, merged_ids=list(merged), merged_at=WHEN
    )
    return sqs_record(OutgoingEvent("customer.merged", 1, uuid.uuid4(), store_id, WHEN, data))


def test_a_merge_hands_the_referrer_s_code_and_open_referrals_to_the_kept_customer(
    credits: Api, code: str, deliver: Any, offer: Any, store_id: str
) -> None:
    """Maria (a referrer) is merged into Ana: Maria's code now refers for Ana, Ana's own
    referrer record; João's pending referral and Bea's qualified one follow; a rewarded one
    would stay. Ana was referred by Maria: after the merge that is a self-referral, voided."""
    offer(customer_event(store_id, BEA, "bea@example.net", version=2))  # no longer a look-alike
    joao = sign_up(credits, code, JOAO).body
    bea = sign_up(credits, code, BEA).body
    ana = sign_up(credits, code, ANA).body
    offer(placed(store_id, BEA, "BR-9"))  # Bea's first order: qualified
    event = merge_event(store_id, ANA, MARIA)
    again = merge_event(store_id, ANA, MARIA)  # redelivered, another event id: nothing twice

    assert deliver(event, again) == {"batchItemFailures": []}

    referrer = credits.call("GET", f"/referrers/{ANA}").body
    assert referrer["code"] == code  # Ana had none: Maria's is hers now
    assert credits.call("GET", f"/referrers/{MARIA}").status == 404
    shown = {r["id"]: r for r in credits.call("GET", f"/referrals?referrer_id={ANA}").body["items"]}
    assert (shown[joao["id"]]["status"], shown[joao["id"]]["reason"]) == (
        "pending",
        "customer-merged",
    )
    assert shown[bea["id"]]["status"] == "qualified"
    assert shown[bea["id"]]["order_id"] == "BR-9"
    self_referral = credits.call("GET", f"/referrals/{ana['id']}").body
    assert (self_referral["status"], self_referral["reason"]) == ("voided", "self-referral")
    assert self_referral["referrer_id"] == MARIA  # history as it was
    assert credits.call("GET", f"/referrals?referrer_id={MARIA}").body["items"] == [self_referral]
    # The code keeps working for the kept customer, and the first referrer still wins.
    new_friend = "01JD50000000000000000000NF"
    deliver(sqs_record(created(store_id, new_friend)))
    assert sign_up(credits, code, new_friend).body["referrer_id"] == ANA
    assert sign_up(credits, code, JOAO).status == 200  # João's referral, as it is


def test_a_merged_friend_s_referral_follows_unless_the_kept_one_was_referred_first(
    credits: Api, code: str, deliver: Any, store_id: str
) -> None:
    """João and Bea (both referred) merge into João: one customer keeps one referral, the
    first made; Bea's is voided `already-referred`. Then Carla merges into Bea, whose only
    referral is voided: Carla's open referral follows her, taking over Bea's friend lock."""
    other = credits.call("POST", "/referrers", {"customer_id": ANA}).body["code"]
    carla = "01JD50000000000000000000CA"
    deliver(sqs_record(created(store_id, carla)))
    first = sign_up(credits, code, JOAO).body
    second = sign_up(credits, other, BEA).body
    carlas = sign_up(credits, code, carla).body

    deliver(merge_event(store_id, JOAO, BEA, merge_id="m-2"))
    assert credits.call("GET", f"/referrals/{first['id']}").body["status"] == "pending"
    lost = credits.call("GET", f"/referrals/{second['id']}").body
    assert (lost["status"], lost["reason"]) == ("voided", "already-referred")

    stream_records(store_id)  # what came before
    deliver(merge_event(store_id, BEA, carla, merge_id="m-3"))
    deliver(merge_event(store_id, BEA, carla, merge_id="m-3"))
    events = [e for r in stream_records(store_id) if (e := event_for(r)) is not None]
    assert [(e.event_type, e.data.model_dump()["friend_id"]) for e in events] == [
        ("referral.pending", BEA)  # the move, published once
    ]
    followed = credits.call("GET", f"/referrals/{carlas['id']}").body
    assert (followed["friend_id"], followed["status"], followed["reason"]) == (
        BEA,
        "pending",
        "customer-merged",
    )
    assert sign_up(credits, other, BEA).status == 409  # Bea is referred: the first one wins


def test_two_merged_referrers_the_kept_one_takes_the_first_code_and_keeps_both_working(
    credits: Api, code: str, deliver: Any, store_id: str
) -> None:
    """Maria (enrolled first) and Ana merge into João, who referred nobody: João takes Maria's
    code; Ana's code refers for João too. Ana had referred João: voided `self-referral`."""
    other = credits.call("POST", "/referrers", {"customer_id": ANA}).body["code"]
    by_ana = sign_up(credits, other, JOAO).body

    assert deliver(merge_event(store_id, JOAO, ANA, MARIA)) == {"batchItemFailures": []}

    assert credits.call("GET", f"/referrers/{JOAO}").body["code"] == code
    assert credits.call("GET", f"/referrers/{ANA}").status == 404
    voided = credits.call("GET", f"/referrals/{by_ana['id']}").body
    assert (voided["status"], voided["reason"]) == ("voided", "self-referral")
    assert sign_up(credits, other, BEA).body["referrer_id"] == JOAO
