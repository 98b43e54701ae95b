"""The contacts read model: kept from customer and order events, read by sending and flows."""

from __future__ import annotations

from datetime import datetime

from chalicelib.automation.contacts.rules import Contact
from chalicelib.automation.contacts.store import ContactStore
from chalicelib.automation.settings import settings
from clientela import aws
from clientela_events.customers import CustomerV1


def contact_store() -> ContactStore:
    return ContactStore(aws.dynamodb(), settings().mail_table)


def get_contact(store_id: str, customer_id: str) -> Contact | None:
    """The customer as automation knows them; None when unknown or deleted."""
    return contact_store().get(store_id, customer_id)


def contact_of(store_id: str, customer: CustomerV1) -> Contact:
    return Contact(
        store_id=store_id,
        customer_id=customer.id,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        language=customer.language,
        country=customer.country,
        tags=tuple(customer.tags),
        email_consent=customer.email_consent.state if customer.email_consent else "never_asked",
        created_at=customer.created_at,
        birthday=customer.birthday,
        last_order_at=None,  # kept apart, from order events
        version=customer.version,
        favorite=customer.favorite,
        city=customer.city,
        sms_consent=customer.sms_consent.state if customer.sms_consent else "never_asked",
        orders_count=customer.orders_count,
        total_spent=customer.total_spent,
        currency=customer.currency,
        last_seen_at=customer.last_seen_at,
        rating_average=customer.rating_average,
    )


def keep_profile(store_id: str, customer: CustomerV1, *, at: datetime | None = None) -> bool:
    """A created or updated profile; an older version than the one held changes nothing.
    `at` (the event's time) keeps the order and review aggregates the event carries."""
    contact = contact_of(store_id, customer)
    carried = customer.orders_count is not None
    kept = contact_store().put_profile(contact, at=at if carried else None)
    if customer.last_order_at is not None:
        note_order(store_id, customer.id, customer.last_order_at)
    return kept


def keep_totals(store_id: str, customer: CustomerV1, *, at: datetime) -> bool:
    """The order and review aggregates changed, the profile did not (same version)."""
    if customer.orders_count is None:
        return False
    kept = contact_store().put_totals(contact_of(store_id, customer), at=at)
    if customer.last_order_at is not None:
        note_order(store_id, customer.id, customer.last_order_at)
    return kept


def forget(store_id: str, customer_id: str, version: int) -> bool:
    return contact_store().put_tombstone(store_id, customer_id, version)


def erased(store_id: str, customer_id: str) -> bool:
    """The customer's data was erased (privacy): their late events must not bring any back."""
    return contact_store().erased(store_id, customer_id)


def note_order(store_id: str, customer_id: str, placed_at: datetime) -> bool:
    return contact_store().note_order(store_id, customer_id, placed_at)


def stop_marketing(store_id: str, customer_id: str) -> None:
    """Unsubscribed through a link: no marketing e-mail goes out before the customers service's
    own update (which follows `email.unsubscribed`) reaches the read model."""
    contact_store().set_consent(store_id, customer_id, "unsubscribed")
