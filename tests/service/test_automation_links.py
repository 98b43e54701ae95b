"""The public links of an e-mail against moto: one-click unsubscribe changes the consent in
the customers service (through `email.unsubscribed`), the pixel and the click redirect become
`email.opened` / `email.clicked` on the customer's timeline, forged links change nothing."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from chalice.test import Client

from clientela_events.customers import ConsentV1, CustomerV1
from clientela_local.lambda_context import new_context
from tests.service.automation_mail import (
    WHEN,
    bus_listener,
    created,
    html_part,
    invoke,
    sent_to,
    sqs_record,
)
from tests.service.conftest import Api


@pytest.fixture
def public(apps: dict[str, Any]) -> Iterator[Client]:
    """The automation API with no token at all: these links are public."""
    with Client(apps["automation"].app) as client:
        yield client


@pytest.fixture
def customers(apps: dict[str, Any], headers: dict[str, str]) -> Iterator[Api]:
    with Client(apps["customers"].app) as client:
        yield Api(client, headers)


def subscribed_customer(customers: Api) -> dict[str, Any]:
    body = {
        "email": f"c{uuid.uuid4().hex[:10]}@example.com",
        "first_name": "Rosa",
        "email_consent": {"state": "subscribed", "opt_in_level": "single"},
    }
    answer = customers.call("POST", "/customers", body)
    assert answer.status == 201, answer.body
    created: dict[str, Any] = answer.body
    return created


def mailed(apps: dict[str, Any], store_id: str, profile: dict[str, Any]) -> Any:
    """The customer, known to automation, sent the welcome e-mail: its parsed MIME."""
    from chalicelib.automation.sending import usecases
    from chalicelib.automation.sending.rules import Origin

    contact = CustomerV1(
        id=profile["id"],
        email=profile["email"],
        first_name=profile["first_name"],
        created_at=WHEN,
        updated_at=WHEN,
        version=profile["version"],
        email_consent=ConsentV1(state="subscribed"),
    )
    invoke(apps["automation"], "on_contact_event", sqs_record(created(store_id, contact)))
    outcome = usecases.send_email(
        store_id,
        customer_id=profile["id"],
        template_id="builtin-welcome",
        context={"shop": {"name": "Loja", "url": "https://shop.example/"}},
        marketing=True,
        origin=Origin(kind="flow", flow_id="f"),
        idempotency_key="welcome",
    )
    assert outcome.status == "sent"
    [mail] = sent_to(profile["email"])
    return mail


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def to_customers(apps: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """What the bus delivers to the customers inbox, handed to its handler."""
    import json

    records = [sqs_record(json.dumps(event)) for event in events]
    context = new_context(
        "clientela-customers", "on_inbound_event", region="us-east-1", account="123456789012"
    )
    assert apps["customers"].on_inbound_event({"Records": records}, context) == {
        "batchItemFailures": []
    }


def test_one_click_unsubscribe_sets_the_consent_in_the_customers_service(
    apps, public, customers, store_id
) -> None:
    profile = subscribed_customer(customers)
    mail = mailed(apps, store_id, profile)
    link = path_of(mail["List-Unsubscribe"].strip("<>"))

    with bus_listener(store_id) as published:
        page = public.http.get(link)
        assert page.status_code == 200 and b"<form" in page.body
        assert (
            customers.call("GET", f"/customers/{profile['id']}").body["email_consent"]["state"]
            == "subscribed"
        )  # the page alone changes nothing
        answer = public.http.post(
            link,
            headers={"content-type": "application/x-www-form-urlencoded"},
            body=b"List-Unsubscribe=One-Click",
        )
        assert answer.status_code == 200
        events = [e for e in published() if e["detail-type"] == "email.unsubscribed"]

    assert [e["detail"]["data"]["customer_id"] for e in events] == [profile["id"]]
    to_customers(apps, events + events)  # redelivered: no second change
    consent = customers.call("GET", f"/customers/{profile['id']}").body["email_consent"]
    assert (consent["state"], consent["source"]) == ("unsubscribed", "unsubscribe_link")


def test_a_forged_or_edited_unsubscribe_link_changes_nothing(
    apps, public, customers, store_id
) -> None:
    profile = subscribed_customer(customers)
    link = path_of(mailed(apps, store_id, profile)["List-Unsubscribe"].strip("<>"))
    token = link.rsplit("/", 1)[1]
    edited = token[:-1] + ("0" if token[-1] != "0" else "1")

    with bus_listener(store_id) as published:
        for bad in (edited, "0" * len(token), "nonsense"):
            answer = public.http.post(
                f"/unsubscribe/{bad}",
                headers={"content-type": "application/x-www-form-urlencoded"},
                body=b"List-Unsubscribe=One-Click",
            )
            assert answer.status_code == 404
        assert published() == []


def test_opens_and_clicks_become_events_the_timeline_shows(
    apps, public, customers, store_id
) -> None:
    profile = subscribed_customer(customers)
    body = html_part(mailed(apps, store_id, profile))
    pixel_match = re.search(r'<img src="([^"]+)"', body)
    click_match = re.search(r'href="([^"]*/track/click/[^"]+)"', body)
    assert pixel_match is not None
    assert click_match is not None
    pixel = path_of(html.unescape(pixel_match.group(1)))
    click = path_of(html.unescape(click_match.group(1)))

    with bus_listener(store_id) as published:
        image = public.http.get(pixel)
        redirect = public.http.get(click)
        forged = public.http.get(click.replace("u=https", "u=http"))
        events = published()

    assert (image.status_code, image.headers["Content-Type"]) == (200, "image/svg+xml")
    assert (redirect.status_code, redirect.headers["Location"]) == (302, "https://shop.example/")
    assert forged.status_code == 404  # the signature covers the link: no open redirect
    assert sorted(e["detail-type"] for e in events) == ["email.clicked", "email.opened"]
    to_customers(apps, events)
    timeline = customers.call("GET", f"/customers/{profile['id']}/timeline").body
    kinds = {entry["kind"] for entry in timeline["items"]}
    assert {"email_opened", "email_clicked"} <= kinds


def test_a_consent_given_after_the_click_is_not_undone_by_a_late_event(
    apps, customers, store_id
) -> None:
    import json

    from clientela.events import OutgoingEvent
    from clientela_events.automation import EmailUnsubscribedV1

    profile = subscribed_customer(customers)  # consent recorded now, after WHEN
    late = OutgoingEvent(
        "email.unsubscribed",
        1,
        uuid.uuid4(),
        store_id,
        WHEN,
        EmailUnsubscribedV1(customer_id=profile["id"], message_id="m" * 26, at=WHEN),
    )
    entry = late.entry("clientela")
    event = {
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "detail": json.loads(entry["Detail"]),
    }

    to_customers(apps, [event])

    consent = customers.call("GET", f"/customers/{profile['id']}").body["email_consent"]
    assert consent["state"] == "subscribed"
