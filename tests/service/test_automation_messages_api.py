"""Messages to one customer against moto: sent at once with a threading Reply-To, replies
dropped into the inbound bucket threaded under the right conversation (quote stripped,
charsets decoded, attachments listed), forged tokens dropped and counted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from chalice.test import Client

from tests.service.automation_mail import (
    bus_listener,
    created,
    customer,
    invoke,
    sent_to,
    sqs_record,
)
from tests.service.conftest import Api

BUCKET = "clientela-automation-inbound-123456789012-us-east-1"


@pytest.fixture
def api(apps: dict[str, Any], headers: dict[str, str]) -> Iterator[Api]:
    with Client(apps["automation"].app) as client:
        yield Api(client, headers)


def known_customer(apps: dict[str, Any], store_id: str, **fields: Any) -> Any:
    profile = customer("C" + uuid.uuid4().hex[:16].upper(), **fields)
    invoke(apps["automation"], "on_contact_event", sqs_record(created(store_id, profile)))
    return profile


def reply_mime(
    *, to: str, sender: str, in_reply_to: str | None = None, text: str = "Sim, quero trocar."
) -> bytes:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = to
    reply["Subject"] = "Re: Sua troca"
    reply["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example>"
    if in_reply_to:
        reply["In-Reply-To"] = in_reply_to
    body = f"{text}\n\nEm seg., 23 de nov. de 2026 Loja <mail@x> escreveu:\n> Olá, Ana\n> texto\n"
    reply.set_content(body, charset="iso-8859-1")
    reply.add_alternative(f"<p>{text}</p><blockquote>Olá</blockquote>", subtype="html")
    reply.add_attachment(
        b"%PDF-1.4 nota", maintype="application", subtype="pdf", filename="nota.pdf"
    )
    return reply.as_bytes()


def drop(apps: dict[str, Any], raw: bytes) -> list[str]:
    """As SES would: the raw MIME in the bucket, the bucket's notification to the handler."""
    key = f"replies/{uuid.uuid4().hex}"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=raw)
    notification = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}},
            }
        ]
    }
    from chalicelib.automation.messages import usecases

    return usecases.follow_inbound(json.dumps(notification))


def test_a_message_goes_out_at_once_and_a_reply_is_threaded_under_it(api, apps, store_id) -> None:
    profile = known_customer(apps, store_id)
    with bus_listener(store_id) as published:
        sent = api.call(
            "POST",
            f"/customers/{profile.id}/messages",
            {"subject": "Sua troca", "body": "Olá Ana,\nposso ajudar <com> a troca?"},
        )
        assert sent.status == 201, sent.body
        [mail] = sent_to(profile.email)
        reply_to = mail["Reply-To"]
        assert reply_to.startswith("reply+") and reply_to.endswith("@reply.clientela.example")
        markup = mail.get_body(("html",))
        assert markup is not None
        assert "&lt;com&gt;" in markup.get_content()

        outcomes = drop(apps, reply_mime(to=reply_to, sender=profile.email))
        events = published()

    assert outcomes == ["threaded"]
    thread = api.call("GET", f"/messages/{sent.body['id']}").body
    outbound, inbound = thread["messages"]
    assert (outbound["direction"], inbound["direction"]) == ("outbound", "inbound")
    assert inbound["text"] == "Sim, quero trocar."  # quote stripped, latin-1 decoded
    assert inbound["attachments"] == [
        {"filename": "nota.pdf", "content_type": "application/pdf", "size": 13}
    ]
    assert sorted(e["detail-type"] for e in events) == ["message.replied", "message.sent"]
    listed = api.call("GET", f"/customers/{profile.id}/messages").body["items"]
    assert [(t["id"], t["messages"], t["last_direction"]) for t in listed] == [
        (sent.body["id"], 2, "inbound")
    ]


def test_an_admin_follow_up_names_the_earlier_mail_and_threads_come_newest_first(
    api, apps, store_id
) -> None:
    profile = known_customer(apps, store_id)
    first = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "A", "body": "a"})
    second = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "B", "body": "b"})

    follow_up = api.call("POST", f"/messages/{first.body['id']}/replies", {"body": "mais"})

    assert follow_up.status == 201
    mails = sent_to(profile.email)
    assert mails[-1]["Subject"] == "Re: A"
    assert mails[-1]["In-Reply-To"].endswith("amazonses.com>")
    listed = api.call("GET", f"/customers/{profile.id}/messages").body["items"]
    assert [t["id"] for t in listed] == [first.body["id"], second.body["id"]]


def test_a_reply_by_headers_alone_is_threaded_only_from_the_customer_s_address(
    api, apps, store_id
) -> None:
    profile = known_customer(apps, store_id)
    sent = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "S", "body": "b"})
    from chalicelib.automation.messages import usecases

    ses_header = usecases.message_store().messages_of(sent.body["id"])[0]["header_id"]
    original = f"<{sent.body['messages'][0]['id']}>"  # our id, not a Message-ID SES gave

    stranger = drop(
        apps,
        reply_mime(to="loja@shop.example", sender="x@evil.example", in_reply_to=f"<{ses_header}>"),
    )
    own = drop(
        apps,
        reply_mime(
            to="loja@shop.example", sender=profile.email.upper(), in_reply_to=f"<{ses_header}>"
        ),
    )
    nothing = drop(
        apps, reply_mime(to="loja@shop.example", sender=profile.email, in_reply_to=original)
    )

    assert (stranger, own, nothing) == (
        ["dropped:sender_mismatch"],
        ["threaded"],
        ["dropped:no_token"],
    )
    assert len(api.call("GET", f"/messages/{sent.body['id']}").body["messages"]) == 2


def test_a_forged_token_is_dropped_and_counted(api, apps, store_id) -> None:
    from chalicelib.automation.messages import usecases

    profile = known_customer(apps, store_id)
    sent = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "S", "body": "b"})
    reply_to = sent_to(profile.email)[0]["Reply-To"]
    local, domain = reply_to.split("@")
    forged = local[:-1] + ("0" if local[-1] != "0" else "1") + "@" + domain
    before = usecases.dropped_today("forged_token")

    outcome = drop(apps, reply_mime(to=forged, sender=profile.email))

    assert outcome == ["dropped:forged_token"]
    assert usecases.dropped_today("forged_token") == before + 1
    assert len(api.call("GET", f"/messages/{sent.body['id']}").body["messages"]) == 1


def test_a_redelivered_reply_is_threaded_once(api, apps, store_id) -> None:
    profile = known_customer(apps, store_id)
    sent = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "S", "body": "b"})
    raw = reply_mime(to=sent_to(profile.email)[0]["Reply-To"], sender=profile.email)

    drop(apps, raw)
    drop(apps, raw)

    assert len(api.call("GET", f"/messages/{sent.body['id']}").body["messages"]) == 2


def test_another_store_cannot_read_or_answer_a_thread(api, apps, store_id) -> None:
    from tests.conftest import token_for

    profile = known_customer(apps, store_id)
    sent = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "S", "body": "b"})
    other = {**api.headers, "authorization": f"Bearer {token_for('store-other1')}"}

    assert api.call("GET", f"/messages/{sent.body['id']}", headers=other).status == 404
    answer = api.call("POST", f"/messages/{sent.body['id']}/replies", {"body": "x"}, headers=other)
    assert answer.status == 404


def test_an_idempotency_key_sends_once(api, apps, store_id) -> None:
    profile = known_customer(apps, store_id)
    headers = {"idempotency-key": "msg-1"}
    body = {"subject": "S", "body": "b"}

    first = api.call("POST", f"/customers/{profile.id}/messages", body, headers=headers)
    again = api.call("POST", f"/customers/{profile.id}/messages", body, headers=headers)

    assert first.body["id"] == again.body["id"]
    assert len(sent_to(profile.email)) == 1


def test_refusals(api, apps, store_id) -> None:
    no_email = known_customer(apps, store_id, email=None)
    with_email = known_customer(apps, store_id)
    body = {"subject": "S", "body": "b"}

    assert api.call("POST", "/customers/NOBODY/messages", body).status == 404
    cannot = api.call("POST", f"/customers/{no_email.id}/messages", body)
    assert (cannot.status, cannot.body["reason"]) == (409, "no_email")
    missing = api.call("POST", f"/customers/{with_email.id}/messages", {"subject": "S"})
    assert missing.status == 422
    empty = api.call("POST", f"/customers/{with_email.id}/messages", {})
    for refused in (missing, empty):
        assert [(e["field"], e["code"]) for e in refused.body["errors"]] == [
            ("body", "body_required")
        ]
    template = api.call(
        "POST", f"/customers/{with_email.id}/messages", {"template_id": "builtin-abandoned-cart"}
    )
    assert (template.status, template.body["detail"]) == (422, "missing_variable")
    assert api.call("GET", "/messages/01JD0000000000000000000000").status == 404


def test_a_marketing_message_needs_consent_and_carries_one_click_unsubscribe(
    api, apps, store_id
) -> None:
    subscribed = known_customer(apps, store_id)
    never_asked = known_customer(apps, store_id, consent="never_asked")
    body = {"subject": "Só para você", "body": "10% hoje", "marketing": True}

    refused = api.call("POST", f"/customers/{never_asked.id}/messages", body)
    sent = api.call("POST", f"/customers/{subscribed.id}/messages", body)

    assert (refused.status, refused.body["reason"]) == (409, "not_subscribed")
    assert sent.status == 201
    [mail] = sent_to(subscribed.email)
    assert mail["List-Unsubscribe"].startswith("<http://localhost:8000/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with Client(apps["automation"].app) as public:
        link = mail["List-Unsubscribe"].strip("<>").removeprefix("http://localhost:8000")
        assert public.http.get(link).status_code == 200
