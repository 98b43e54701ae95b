"""The contacts read model and the send primitive, against moto: consent, suppression,
idempotency, rendering, the unsubscribe and tracking links."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from clientela.events import OutgoingEvent
from clientela_events.customers import CustomerDeletedV1, CustomerMergedV1
from clientela_events.storefront import OrderPlacedV1
from tests.service.automation_mail import (
    WHEN,
    created,
    customer,
    html_part,
    invoke,
    sent_to,
    sqs_record,
    text_part,
    updated,
)


@pytest.fixture
def automation(apps: dict[str, Any]) -> Any:
    return apps["automation"]


@pytest.fixture
def contacts(automation: Any) -> Any:
    from chalicelib.automation.contacts import usecases

    return usecases


@pytest.fixture
def sending(automation: Any) -> Any:
    from chalicelib.automation.sending import usecases

    return usecases


def new_customer_id() -> str:
    return "C" + uuid.uuid4().hex[:20].upper()


def deliver(automation: Any, *events: OutgoingEvent) -> None:
    result = invoke(automation, "on_contact_event", *(sqs_record(e) for e in events))
    assert result == {"batchItemFailures": []}


def origin(**fields: Any) -> Any:
    from chalicelib.automation.sending.rules import Origin

    return Origin(kind="flow", flow_id="flow-1", step_id="s1", run_id="r1", **fields)


def cart() -> dict[str, Any]:
    return {
        "url": "https://shop.example/cart/abc",
        "items": [{"name": "Tênis <b>trail</b>", "quantity": 2}],
    }


# Contacts


def test_the_contact_follows_the_newest_version_whatever_the_order(
    automation, contacts, store_id
) -> None:
    cid = new_customer_id()
    v1, v2 = customer(cid), customer(cid, version=2, first_name="Bia")

    deliver(automation, updated(store_id, v1, v2), created(store_id, v1))
    deliver(automation, updated(store_id, v1, v2))  # redelivered

    contact = contacts.get_contact(store_id, cid)
    assert (contact.first_name, contact.version, contact.email_consent) == ("Bia", 2, "subscribed")
    assert contact.language == "pt-BR"


def test_a_deleted_contact_stays_deleted_when_an_older_update_arrives_late(
    automation, contacts, store_id
) -> None:
    cid = new_customer_id()
    v1, v2 = customer(cid), customer(cid, version=2)
    deleted = CustomerDeletedV1(customer_id=cid, version=2, deleted_at=WHEN)

    deliver(automation, created(store_id, v1))
    deliver(automation, OutgoingEvent("customer.deleted", 1, uuid.uuid4(), store_id, WHEN, deleted))
    deliver(automation, updated(store_id, v1, v2))

    assert contacts.get_contact(store_id, cid) is None


def test_merged_away_contacts_are_forgotten_and_never_come_back(
    automation, contacts, store_id
) -> None:
    kept, gone = new_customer_id(), new_customer_id()
    deliver(automation, created(store_id, customer(kept)), created(store_id, customer(gone)))
    merged = CustomerMergedV1(merge_id="m1", kept_id=kept, merged_ids=[gone], merged_at=WHEN)

    deliver(automation, OutgoingEvent("customer.merged", 1, uuid.uuid4(), store_id, WHEN, merged))
    deliver(automation, updated(store_id, customer(gone), customer(gone, version=5)))

    assert contacts.get_contact(store_id, gone) is None
    assert contacts.get_contact(store_id, kept) is not None


def test_the_last_order_only_moves_forward_and_may_come_before_the_profile(
    automation, contacts, store_id
) -> None:
    cid = new_customer_id()

    def order(day: int) -> OutgoingEvent:
        data = OrderPlacedV1.model_validate(
            {
                "order_id": f"o-{day}",
                "customer_id": cid,
                "email": "x@example.com",
                "placed_at": WHEN.replace(day=day),
                "currency": "BRL",
                "total": "10.00",
                "items": [
                    {
                        "product_id": "p",
                        "sku": "s",
                        "name": "n",
                        "quantity": 1,
                        "unit_price": "10.00",
                    }
                ],
            }
        )
        return OutgoingEvent("order.placed", 1, uuid.uuid4(), store_id, WHEN, data)

    deliver(automation, order(20), order(10))
    deliver(automation, created(store_id, customer(cid)))

    assert contacts.get_contact(store_id, cid).last_order_at == WHEN.replace(day=20)


# send_email


def test_a_marketing_send_renders_escapes_and_carries_the_unsubscribe_headers(
    automation, sending, store_id
) -> None:
    cid = new_customer_id()
    profile = customer(cid, first_name="<script>alert(1)</script>")
    deliver(automation, created(store_id, profile))

    outcome = sending.send_email(
        store_id,
        customer_id=cid,
        template_id="builtin-abandoned-cart",
        context={"cart": cart()},
        marketing=True,
        origin=origin(),
        idempotency_key=f"k-{cid}",
    )

    assert (outcome.status, outcome.reason) == ("sent", None)
    [mail] = sent_to(profile.email)
    assert mail["Subject"] == f"Você esqueceu algo no carrinho da {store_id}"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://localhost:8000/unsubscribe/")
    token = unsubscribe.rsplit("/", 1)[1]
    # Opaque: neither the store nor the customer can be read from it.
    assert store_id not in token and cid.lower() not in token.lower()
    body = html_part(mail)
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "Tênis &lt;b&gt;trail&lt;/b&gt; &times; 2" in body
    assert "/track/click/" in body and "/track/open/" in body
    assert "Tênis <b>trail</b>" in text_part(mail)  # plain text, generated from the HTML


def test_the_same_idempotency_key_never_sends_twice(automation, sending, store_id) -> None:
    cid = new_customer_id()
    profile = customer(cid)
    deliver(automation, created(store_id, profile))
    send = {
        "customer_id": cid,
        "template_id": "builtin-welcome",
        "context": {},
        "marketing": True,
        "origin": origin(),
        "idempotency_key": "same",
    }

    first = sending.send_email(store_id, **send)
    again = sending.send_email(store_id, **send)

    assert first == again and first.status == "sent"
    assert len(sent_to(profile.email)) == 1


@pytest.mark.parametrize(
    "case",
    [
        ("unsubscribed", True, ("skipped", "not_subscribed")),
        ("never_asked", True, ("skipped", "not_subscribed")),
        ("unsubscribed", False, ("sent", None)),  # a transactional mail needs no consent
    ],
)
def test_marketing_needs_consent(automation, sending, store_id, case) -> None:
    consent, marketing, expected = case
    cid = new_customer_id()
    deliver(automation, created(store_id, customer(cid, consent=consent)))

    outcome = sending.send_email(
        store_id,
        customer_id=cid,
        template_id="builtin-welcome",
        context={},
        marketing=marketing,
        origin=origin(),
        idempotency_key="k",
    )

    assert (outcome.status, outcome.reason) == expected


def test_skips_are_recorded_with_their_reason_and_origin(automation, sending, store_id) -> None:
    cid = new_customer_id()
    deliver(automation, created(store_id, customer(cid, email=None)))
    cases: dict[str, tuple[str, str, dict[str, Any]]] = {
        "no_email": (cid, "builtin-welcome", {}),
        "unknown_contact": ("NOBODY", "builtin-welcome", {}),
    }
    for reason, (customer_id, template_id, context) in cases.items():
        outcome = sending.send_email(
            store_id,
            customer_id=customer_id,
            template_id=template_id,
            context=context,
            marketing=True,
            origin=origin(flow_name="Cart"),
            idempotency_key=f"k-{reason}",
        )
        assert (outcome.status, outcome.reason) == ("skipped", reason)

    records = list(sending.sends_of_flow(store_id, "flow-1"))
    assert sorted(r.reason for r in records) == ["no_email", "unknown_contact"]
    assert {(r.origin.step_id, r.origin.run_id) for r in records} == {("s1", "r1")}


def test_a_missing_variable_skips_rather_than_renders_blank(automation, sending, store_id) -> None:
    cid = new_customer_id()
    profile = customer(cid)
    deliver(automation, created(store_id, profile))

    outcome = sending.send_email(
        store_id,
        customer_id=cid,
        template_id="builtin-abandoned-cart",
        context={},  # no cart
        marketing=True,
        origin=origin(),
        idempotency_key="k",
    )

    assert (outcome.status, outcome.reason) == ("skipped", "missing_variable")
    assert "cart" in outcome.detail
    assert sent_to(profile.email) == []


def test_an_unknown_template_is_skipped(automation, sending, store_id) -> None:
    cid = new_customer_id()
    deliver(automation, created(store_id, customer(cid)))

    outcome = sending.send_email(
        store_id,
        customer_id=cid,
        template_id="no-such-template",
        context={},
        marketing=True,
        origin=origin(),
        idempotency_key="k",
    )

    assert (outcome.status, outcome.reason) == ("skipped", "unknown_template")


def ses_notification(kind: str, ses_id: str, address: str, bounce_type: str = "Permanent") -> str:
    message: dict[str, Any] = {"notificationType": kind, "mail": {"messageId": ses_id}}
    if kind == "Bounce":
        message["bounce"] = {
            "bounceType": bounce_type,
            "bouncedRecipients": [{"emailAddress": address}],
        }
    else:
        message["complaint"] = {"complainedRecipients": [{"emailAddress": address}]}
    return json.dumps({"Type": "Notification", "Message": json.dumps(message)})


@pytest.mark.parametrize(
    "case",
    [
        ("Bounce", "Permanent", True),
        ("Complaint", "", True),
        ("Bounce", "Transient", False),
    ],
)
def test_hard_bounces_and_complaints_suppress_the_address_for_that_store(
    automation, sending, store_id, case
) -> None:
    kind, bounce_type, suppressed = case
    cid = new_customer_id()
    profile = customer(cid)
    deliver(automation, created(store_id, profile))
    first = sending.send_email(
        store_id,
        customer_id=cid,
        template_id="builtin-welcome",
        context={},
        marketing=True,
        origin=origin(),
        idempotency_key="first",
    )
    ses_id = sending.send_store().get(first.message_id).ses_message_id
    body = ses_notification(kind, ses_id, str(profile.email).upper(), bounce_type)

    assert invoke(automation, "on_ses_feedback", sqs_record(body)) == {"batchItemFailures": []}

    second = sending.send_email(
        store_id,
        customer_id=cid,
        template_id="builtin-welcome",
        context={},
        marketing=False,
        origin=origin(),
        idempotency_key="second",
    )
    assert (second.reason == "suppressed") is suppressed
    # Another store may still mail the same address.
    assert sending.suppressions().reason("another-store", profile.email) is None
