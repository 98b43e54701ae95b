"""One-to-one messages: the admin writes to a customer (or picks a template), the mail goes out
at once with a per-thread Reply-To; the customer's replies come back through SES's inbound
bucket and are threaded under the original."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from chalicelib.automation.contacts import usecases as contacts
from chalicelib.automation.contacts.rules import Contact
from chalicelib.automation.messages import rules
from chalicelib.automation.messages.store import MessageStore, attachments_json
from chalicelib.automation.sending import usecases as sending
from chalicelib.automation.sending.rules import (
    Mail,
    Origin,
    mime,
    ses_message_header,
    tracked_html,
)
from chalicelib.automation.settings import link_key, settings
from chalicelib.automation.templates import usecases as templates
from chalicelib.automation.templates.rules import render
from clientela import aws
from clientela.events import OutgoingEvent, publish
from clientela.ids import new_id
from clientela.problems import NotFound, UnknownReference
from clientela_events.automation import MessageRepliedV1, MessageSentV1

logger = Logger(service="automation")


class CustomerNotFound(NotFound):
    what = "customer"


class ThreadNotFound(NotFound):
    what = "thread"


class CannotMail(Exception):
    """The customer cannot be mailed: no address, or it is suppressed (bounce, complaint)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def now() -> datetime:
    return datetime.now(UTC)


def message_store() -> MessageStore:
    return MessageStore(aws.dynamodb(), settings().mail_table)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


def _mailable(store_id: str, customer_id: str, *, marketing: bool = False) -> Contact:
    contact = contacts.get_contact(store_id, customer_id)
    if contact is None:
        raise CustomerNotFound
    reason = sending.skip_reason(store_id, contact, marketing=marketing)
    if reason is not None:
        raise CannotMail(reason)
    return contact


def _content(
    store_id: str,
    contact: Contact,
    *,
    subject: str | None,
    body: str | None,
    template_id: str | None,
    context: Mapping[str, Any],
) -> tuple[str, str, str]:
    """(subject, text, html) of the admin's message or of the template they picked."""
    if template_id is None:
        assert subject is not None
        assert body is not None
        return subject, body, rules.html_of(body)
    template = templates.get_template(store_id, template_id)
    if template is None:
        raise UnknownReference("template", "template_id")
    values = sending.template_context(store_id, contact, context, settings().public_base_url)
    rendered = render(template, values, contact.language, max_chars=settings().max_rendered_chars)
    return subject or rendered.subject, rendered.text, rendered.html


def send_message(
    store_id: str,
    customer_id: str,
    *,
    subject: str | None,
    body: str | None,
    template_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    marketing: bool = False,
) -> dict[str, Any]:
    """A new thread with the admin's first message, sent at once. With an Idempotency-Key, a
    retry answers the thread the first attempt made (nothing is sent twice). A marketing
    message (a promotion to one customer) needs e-mail consent and carries the one-click
    unsubscribe headers and tracking, like a flow's."""
    store = message_store()
    thread_id = new_id()
    claim_key = None
    if idempotency_key is not None:
        claim_key = {
            "pk": {"S": f"MSGKEY#{store_id}#{_hash(idempotency_key)}"},
            "sk": {"S": "KEY"},
        }
        earlier = store.claim(claim_key, {"thread_id": thread_id})
        if earlier is not None:
            thread_id = earlier["thread_id"]
            if store.thread(thread_id) is not None:
                return thread_view(store_id, thread_id)
    try:
        contact = _mailable(store_id, customer_id, marketing=marketing)
        text_subject, text, markup = _content(
            store_id,
            contact,
            subject=subject,
            body=body,
            template_id=template_id,
            context=context or {},
        )
    except Exception:
        if claim_key is not None:
            store.release(claim_key)  # refused: a corrected retry may use the same key
        raise
    at = now()
    store.create_thread(
        thread_id=thread_id, store_id=store_id, customer_id=customer_id, subject=text_subject, at=at
    )
    _send(
        store_id,
        contact,
        thread_id,
        subject=text_subject,
        text=text,
        markup=markup,
        at=at,
        previous=[],
        marketing=marketing,
    )
    return thread_view(store_id, thread_id)


def reply_in_thread(store_id: str, thread_id: str, body: str) -> dict[str, Any]:
    """The admin answers in a thread: In-Reply-To / References name the thread's last mails."""
    thread = _thread(store_id, thread_id)
    contact = _mailable(store_id, thread["customer_id"])
    previous = [
        header
        for message in message_store().messages_of(thread["thread_id"])
        for header in [message.get("header_id")]
        if header
    ]
    subject = thread["subject"]
    subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    _send(
        store_id,
        contact,
        thread["thread_id"],
        subject=subject,
        text=body,
        markup=rules.html_of(body),
        at=now(),
        previous=previous,
    )
    return thread_view(store_id, thread["thread_id"])


def _send(
    store_id: str,
    contact: Contact,
    thread_id: str,
    *,
    subject: str,
    text: str,
    markup: str,
    at: datetime,
    previous: list[str],
    marketing: bool = False,
) -> None:
    assert contact.email is not None
    message_id = new_id()
    token = rules.reply_token(thread_id, store_id, contact.customer_id, key=link_key())
    mail = Mail(
        sender=settings().sender,
        to=contact.email,
        subject=subject,
        text=text,
        html=markup,
        reply_to=rules.reply_address(token, settings().reply_domain),
        in_reply_to=f"<{previous[-1]}>" if previous else None,
        references=tuple(f"<{header}>" for header in previous[-20:]),
    )
    tracked = None
    if marketing:
        tracked = sending.open_direct_send(
            store_id,
            contact.customer_id,
            origin=Origin(kind="message", run_id=thread_id),
            key=f"message:{message_id}",
            marketing=True,
        )
        mail = replace(
            mail,
            html=tracked_html(markup, tracked),
            unsubscribe_url=tracked.unsubscribe,
            headers={"X-Clientela-Message": tracked.message_id},
        )
    try:
        ses_id = sending.ses_send(mime(mail), contact.email)
    except Exception:
        if tracked is not None:
            sending.close_direct_send(tracked.message_id, None)
        raise
    if tracked is not None:
        sending.close_direct_send(tracked.message_id, ses_id)
    header_id = ses_message_header(ses_id, aws.client("ses").meta.region_name).strip("<>")
    message_store().add_message(
        thread_id,
        {
            "id": message_id,
            "at": _stamp(at),
            "direction": "outbound",
            "subject": subject,
            "text": text,
            "ses_message_id": ses_id,
            "header_id": header_id,
            "attachments": [],
        },
    )
    sending.send_store().remember_ses_id(ses_id, store_id, thread_id=thread_id)
    _publish(
        store_id,
        "message.sent",
        at,
        MessageSentV1(
            customer_id=contact.customer_id,
            thread_id=thread_id,
            message_id=message_id,
            channel="email",
        ),
    )


def _publish(store_id: str, event_type: str, at: datetime, data: Any) -> None:
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{event_type}/{data.message_id}")
    if publish([OutgoingEvent(event_type, 1, event_id, store_id, at, data)]):
        raise RuntimeError(f"{event_type} was not accepted by the bus")


def _thread(store_id: str, thread_id: str) -> dict[str, Any]:
    thread = message_store().thread(thread_id.upper()) if len(thread_id) <= 64 else None
    if thread is None or thread["store_id"] != store_id:
        raise ThreadNotFound
    return thread


def thread_view(store_id: str, thread_id: str) -> dict[str, Any]:
    thread = _thread(store_id, thread_id)
    return {**thread, "items": message_store().messages_of(thread["thread_id"])}


def threads_of(store_id: str, customer_id: str, limit: int) -> list[dict[str, Any]]:
    """A customer's threads, latest activity first."""
    return message_store().threads_of(store_id, customer_id, limit)


# Inbound replies


def follow_inbound(body: str) -> list[str]:
    """An S3 notification of raw replies (or SES's own notification naming the object): each
    mail is parsed and threaded, or dropped and counted. Answers the outcomes."""
    document = json.loads(body)
    if isinstance(document, dict) and document.get("Type") == "Notification":
        document = json.loads(document["Message"])
    locations: list[tuple[str, str]] = []
    for record in document.get("Records", []) if isinstance(document, dict) else []:
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if bucket and key:
            locations.append((bucket, unquote_plus(key)))
    action = (
        ((document.get("receipt") or {}).get("action") or {}) if isinstance(document, dict) else {}
    )
    if action.get("type") == "S3":
        locations.append((action["bucketName"], action["objectKey"]))
    return [receive(bucket, key) for bucket, key in locations]


def receive(bucket: str, key: str) -> str:
    raw = aws.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    mail = rules.parse(raw)
    store = message_store()
    at = now()
    thread, why, named = _thread_of(mail)
    if thread is None:
        store.count_dropped(why, at, named)
        logger.warning("reply dropped", extra={"reason": why, "object_key": key})
        return f"dropped:{why}"
    # A redelivered notification (or the same mail twice) lands on the same message.
    seen = {"pk": {"S": f"INBOUND#{_hash(mail.message_id or key)}"}, "sk": {"S": "SEEN"}}
    first = {"message_id": new_id(), "at": _stamp(at)}
    earlier = store.claim(seen, first) or first
    message_id = earlier["message_id"]
    store.add_message(
        thread["thread_id"],
        {
            "id": message_id,
            "at": earlier["at"],
            "direction": "inbound",
            "subject": mail.subject,
            "text": rules.strip_quoted(mail.text),
            "header_id": mail.message_id,
            "attachments": attachments_json(mail.attachments),
            "object_key": key,
        },
    )
    _publish(
        thread["store_id"],
        "message.replied",
        at,
        MessageRepliedV1(
            customer_id=thread["customer_id"],
            thread_id=thread["thread_id"],
            message_id=message_id,
            channel="email",
        ),
    )
    return "threaded"


def _thread_of(mail: rules.Inbound) -> tuple[dict[str, Any] | None, str, str | None]:
    """The thread a reply belongs to, or why none: by the signed token of its reply address,
    else by the mails it answers when it comes from the thread's customer's own address. Last,
    the store a dropped reply surely concerns (one of its mails answered), if any."""
    store = message_store()
    tokens = rules.tokens_in(mail.recipients, settings().reply_domain)
    for token in tokens:
        thread = store.thread(token.thread_id)
        if thread is not None and token.valid_for(
            thread["store_id"], thread["customer_id"], key=link_key()
        ):
            return thread, "", None
    if tokens:
        return None, "forged_token", None
    for header in mail.in_reply_to:
        sent = sending.send_store().by_ses_id(rules.ses_id_of(header))
        thread = store.thread(sent["thread_id"]) if sent and "thread_id" in sent else None
        if thread is None:
            continue
        contact = contacts.get_contact(thread["store_id"], thread["customer_id"])
        if contact is not None and rules.sender_matches(mail.sender, contact.email):
            return thread, "", None
        return None, "sender_mismatch", str(thread["store_id"])
    return None, "no_token", None


def dropped_today(reason: str) -> int:
    return message_store().dropped(now(), reason)


def dropped_of_store(store_id: str, days: int) -> dict[str, dict[str, int]]:
    """The store's dropped replies of the last `days` days (today included): day -> reason."""
    last = now().date()
    return message_store().dropped_of_store(store_id, last - timedelta(days=days - 1), last)


def threads_page(
    store_id: str, customer_id: str, limit: int, start: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A page of the customer's threads, latest activity first, and where the next starts."""
    return message_store().thread_page(store_id, customer_id, limit, start)
