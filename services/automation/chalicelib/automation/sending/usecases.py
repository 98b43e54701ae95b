"""Sending e-mail to one customer, compliantly, exactly once per idempotency key.

`send_email` is the primitive flows call: it checks the contact (e-mail present, marketing
consent, suppression), renders the template in the sandbox, sends through SES with one-click
unsubscribe and tracking, and records the send or the skip with its reason and origin.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.automation.contacts import usecases as contacts
from chalicelib.automation.contacts.rules import Contact
from chalicelib.automation.sending import rules
from chalicelib.automation.sending.rules import (
    Links,
    Mail,
    Origin,
    SendOutcome,
    SendRecord,
)
from chalicelib.automation.sending.store import (
    AlreadyRecorded,
    SendStore,
    Suppression,
    SuppressionStore,
    address_id,
)
from chalicelib.automation.settings import link_key, settings
from chalicelib.automation.templates import usecases as templates
from chalicelib.automation.templates.rules import Rendered, TemplateError, render
from clientela import aws
from clientela.events import OutgoingEvent, publish
from clientela_events.automation import (
    EmailClickedV1,
    EmailOpenedV1,
    EmailSentV1,
    EmailUnsubscribedV1,
)

logger = Logger(service="automation")

__all__ = ["Origin", "SendOutcome", "send_email"]


def now() -> datetime:
    return datetime.now(UTC)


def send_store() -> SendStore:
    return SendStore(aws.dynamodb(), settings().mail_table)


def suppressions() -> SuppressionStore:
    return SuppressionStore(aws.dynamodb(), settings().mail_table)


def links(message_id: str, store_id: str, customer_id: str) -> Links:
    return Links(
        settings().public_base_url.rstrip("/"), message_id, store_id, customer_id, link_key()
    )


def customer_context(contact: Contact) -> dict[str, Any]:
    """What a template reads of the customer."""
    return {
        "id": contact.customer_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "language": contact.language,
        "country": contact.country,
        "tags": list(contact.tags),
    }


def template_context(
    store_id: str, contact: Contact, context: Mapping[str, Any], unsubscribe_url: str
) -> dict[str, Any]:
    shop = {"name": store_id, "url": settings().public_base_url}
    return {
        **context,
        "shop": context.get("shop", shop),
        "customer": customer_context(contact),
        "unsubscribe_url": unsubscribe_url,
    }


def skip_reason(store_id: str, contact: Contact | None, *, marketing: bool) -> str | None:
    """Why this customer may not be mailed now, or None."""
    if contact is None:
        return rules.UNKNOWN_CONTACT
    if not contact.email:
        return rules.NO_EMAIL
    if not rules.valid_address(contact.email):
        return rules.INVALID_ADDRESS
    if marketing and not contact.subscribed:
        return rules.NOT_SUBSCRIBED
    if suppressions().reason(store_id, contact.email) is not None:
        return rules.SUPPRESSED
    return None


def send_email(
    store_id: str,
    *,
    customer_id: str,
    template_id: str,
    context: Mapping[str, Any],
    marketing: bool,
    origin: Origin,
    idempotency_key: str,
) -> SendOutcome:
    """Sends the template to the customer, or records why not. The same idempotency key never
    sends twice: a repeat answers the first outcome. A missing template variable skips the send
    (reason `missing_variable`), never renders blank. SES errors raise (the caller retries with
    the same key)."""
    message_id = rules.message_id(store_id, idempotency_key)
    store = send_store()
    existing = store.get(message_id)
    if existing is not None and existing.final:
        return existing.outcome()
    at = now()
    record = SendRecord(
        message_id=message_id,
        store_id=store_id,
        customer_id=customer_id,
        template_id=template_id,
        marketing=marketing,
        origin=origin,
        status="skipped",
        created_at=existing.created_at if existing else at,
    )
    contact = contacts.get_contact(store_id, customer_id)
    reason = skip_reason(store_id, contact, marketing=marketing)
    rendered: Rendered | None = None
    if reason is None:
        assert contact is not None
        template = templates.get_template(store_id, template_id)
        if template is None:
            reason = rules.UNKNOWN_TEMPLATE
        else:
            link = links(message_id, store_id, customer_id)
            values = template_context(store_id, contact, context, link.unsubscribe)
            try:
                rendered = render(
                    template, values, contact.language, max_chars=settings().max_rendered_chars
                )
            except TemplateError as error:
                reason = error.reason
                record = replace(record, detail=f"{error.part}: {error.detail}"[:300])
    if reason is not None or rendered is None or contact is None:
        return _record_skip(store, replace(record, reason=reason), existing)
    claimed = replace(record, status="sending", language=rendered.language, claimed_at=at)
    try:
        if existing is None:
            store.create(claimed)
        else:
            store.take_over(claimed, stale_before=at - timedelta(seconds=rules.STALE_CLAIM_SECONDS))
    except AlreadyRecorded:
        current = store.get(message_id)
        if current is not None and current.final:
            return current.outcome()
        return SendOutcome("skipped", rules.IN_PROGRESS, message_id)
    return _deliver(store, claimed, contact, rendered)


def _record_skip(store: SendStore, record: SendRecord, existing: SendRecord | None) -> SendOutcome:
    try:
        if existing is None:
            store.create(record)
        else:
            store.take_over(
                record, stale_before=now() - timedelta(seconds=rules.STALE_CLAIM_SECONDS)
            )
    except AlreadyRecorded:
        current = store.get(record.message_id)
        return current.outcome() if current is not None else record.outcome()
    logger.info(
        "send skipped",
        extra={"message_id": record.message_id, "reason": record.reason},
    )
    return record.outcome()


def _deliver(
    store: SendStore, record: SendRecord, contact: Contact, rendered: Rendered
) -> SendOutcome:
    assert contact.email is not None
    link = links(record.message_id, record.store_id, record.customer_id)
    mail = Mail(
        sender=settings().sender,
        to=contact.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rules.tracked_html(rendered.html, link),
        unsubscribe_url=link.unsubscribe if record.marketing else None,
        headers={"X-Clientela-Message": record.message_id},
    )
    try:
        raw = rules.mime(mail)
    except ValueError:
        store.mark(record.message_id, "skipped", reason=rules.INVALID_ADDRESS)
        return SendOutcome("skipped", rules.INVALID_ADDRESS, record.message_id)
    try:
        ses_id = ses_send(raw, contact.email)
    except Exception:
        store.mark(record.message_id, "failed")
        raise
    sent_at = now()
    store.mark(record.message_id, "sent", ses_message_id=ses_id, sent_at=sent_at)
    store.remember_ses_id(ses_id, record.store_id, message_id=record.message_id)
    _publish(
        record.store_id,
        "email.sent",
        uuid.uuid5(uuid.NAMESPACE_URL, f"email.sent/{record.message_id}"),
        sent_at,
        EmailSentV1(
            customer_id=record.customer_id,
            message_id=record.message_id,
            flow_id=record.origin.flow_id,
            flow_name=record.origin.flow_name,
        ),
    )
    logger.info("e-mail sent", extra={"message_id": record.message_id})
    return SendOutcome("sent", None, record.message_id)


def ses_send(raw: bytes, to: str) -> str:
    """SES v1 raw send; SES's message id."""
    configuration = settings().configuration_set
    response = aws.client("ses").send_raw_email(
        Source=settings().sender.rsplit("<", 1)[-1].rstrip(">"),
        Destinations=[to],
        RawMessage={"Data": raw},
        **({"ConfigurationSetName": configuration} if configuration else {}),
    )
    return str(response["MessageId"])


def _publish(store_id: str, event_type: str, event_id: uuid.UUID, at: datetime, data: Any) -> None:
    failed = publish([OutgoingEvent(event_type, 1, event_id, store_id, at, data)])
    if failed:
        logger.warning("event not published", extra={"event_type": event_type})
        raise RuntimeError(f"{event_type} was not accepted by the bus")


def last_marketing_send(store_id: str, customer_id: str) -> datetime | None:
    """When the customer was last sent a marketing e-mail (smart sending reads it)."""
    for record in send_store().of_customer(store_id, customer_id):
        if record.marketing and record.status == "sent":
            return record.sent_at or record.created_at
    return None


def sends_of_flow(store_id: str, flow_id: str) -> Iterator[SendRecord]:
    """Every send and skip of a flow (stats and attribution read them)."""
    return send_store().of_flow(store_id, flow_id)


# Links in the mail: unsubscribe, open pixel, click redirect. Public: no login, the token is
# the proof. A token that does not verify changes nothing and says nothing.


def _verified(purpose: str, token: str, *extra: str) -> SendRecord | None:
    message_id = rules.token_message(token)
    record = send_store().get(message_id) if message_id else None
    if record is None or not rules.token_valid(
        purpose, token, record.store_id, record.customer_id, *extra, key=link_key()
    ):
        return None
    return record


def unsubscribe_target(token: str) -> SendRecord | None:
    return _verified("unsubscribe", token)


def unsubscribe(token: str) -> bool:
    """The customer of the token's message is unsubscribed from marketing e-mail: the customers
    service sets the consent (from `email.unsubscribed`); the contact stops at once here."""
    record = _verified("unsubscribe", token)
    if record is None:
        return False
    at = now()
    contacts.stop_marketing(record.store_id, record.customer_id)
    _publish(
        record.store_id,
        "email.unsubscribed",
        uuid.uuid5(uuid.NAMESPACE_URL, f"email.unsubscribed/{record.message_id}"),
        at,
        EmailUnsubscribedV1(customer_id=record.customer_id, message_id=record.message_id, at=at),
    )
    return True


def opened(token: str) -> bool:
    record = _verified("open", token)
    if record is None:
        return False
    at = now()
    send_store().note_engagement(record.message_id, "opened", at)
    _publish(
        record.store_id,
        "email.opened",
        uuid.uuid4(),
        at,
        EmailOpenedV1(
            customer_id=record.customer_id,
            message_id=record.message_id,
            flow_id=record.origin.flow_id,
        ),
    )
    return True


def clicked(token: str, url: str) -> bool:
    """True when the link is one this message carried (then the redirect may go to it)."""
    record = _verified("click", token, url)
    if record is None:
        return False
    at = now()
    send_store().note_engagement(record.message_id, "clicked", at)
    _publish(
        record.store_id,
        "email.clicked",
        uuid.uuid4(),
        at,
        EmailClickedV1(
            customer_id=record.customer_id,
            message_id=record.message_id,
            url=url,
            flow_id=record.origin.flow_id,
        ),
    )
    return True


def follow_feedback(body: str) -> str:
    """An SES bounce or complaint suppresses the addresses for the store that sent the mail."""
    feedback = rules.ses_feedback(body)
    if feedback is None:
        return "ignored"
    sent = send_store().by_ses_id(feedback.ses_message_id)
    if sent is None:
        return "unknown-message"
    for address in feedback.addresses:
        suppressions().suppress(sent["store_id"], address, feedback.kind, now())
    return feedback.kind


def open_direct_send(
    store_id: str, customer_id: str, *, origin: Origin, key: str, marketing: bool
) -> Links:
    """A send record for a mail composed elsewhere (a message to one customer): its links
    (unsubscribe, tracking) verify like a template send's, and stats see it."""
    message_id = rules.message_id(store_id, key)
    at = now()
    send_store().create(
        SendRecord(
            message_id=message_id,
            store_id=store_id,
            customer_id=customer_id,
            template_id=None,
            marketing=marketing,
            origin=origin,
            status="sending",
            created_at=at,
            claimed_at=at,
        )
    )
    return links(message_id, store_id, customer_id)


def close_direct_send(message_id: str, ses_message_id: str | None) -> None:
    if ses_message_id is None:
        send_store().mark(message_id, "failed")
    else:
        send_store().mark(message_id, "sent", ses_message_id=ses_message_id, sent_at=now())


# Suppressions ------------------------------------------------------------------------------


def suppressions_page(
    store_id: str, limit: int, position: dict[str, Any] | None
) -> tuple[list[Suppression], dict[str, Any] | None]:
    return suppressions().page(store_id, limit, position)


def lift_suppression(store_id: str, address_or_id: str, reason: str) -> bool:
    """Mail may go to the address again (staff fixed it, or the customer asked): the lift and
    its reason are recorded. By the address, or by the id the listing shows (a hash)."""
    digest = address_id(address_or_id) if "@" in address_or_id else address_or_id.lower()
    return suppressions().lift(store_id, digest, reason, now())
