"""Automation's view of a customer (its contact), kept from the customers service's events.

A contact holds only what sending and flows need. Events may arrive twice and in any order:
each carries the profile's version, and a contact only ever moves to a newer version; a
deletion leaves a tombstone with the version it had, so a late update never brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from chalicelib.automation.runs.rules import shard_of

# What a template may read of a contact, besides the names and the e-mail.
LANGUAGES = ("pt-BR", "es", "it", "en")


@dataclass(frozen=True)
class Contact:
    store_id: str
    customer_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    language: str | None
    country: str | None
    tags: tuple[str, ...]
    # The e-mail marketing consent state: subscribed, unsubscribed, pending or never_asked.
    email_consent: str
    created_at: datetime | None
    birthday: date | None
    last_order_at: datetime | None
    version: int
    # What the customer filters of GET /customers read besides the above (flows filter on
    # them): from the profile events; the aggregates also from customer.updated events that
    # keep the version (orders, reviews). None: not carried by the events received so far.
    favorite: bool = False
    city: str | None = None
    sms_consent: str = "never_asked"
    orders_count: int | None = None
    total_spent: Decimal | None = None
    currency: str | None = None
    last_seen_at: datetime | None = None
    rating_average: Decimal | None = None

    @property
    def subscribed(self) -> bool:
        return self.email_consent == "subscribed"


def normalized_email(email: str) -> str:
    """The form addresses are compared and suppressed in (mailbox providers ignore case)."""
    return email.strip().lower()


# The store's contacts are listed in this many partitions (index `contacts-by-shard`).
CONTACT_SHARDS = 16


def contact_shard(customer_id: str) -> int:
    """Which listing partition a customer's contact is in: a hash, so a store's contacts (and
    their profile writes) spread evenly."""
    return shard_of(customer_id, CONTACT_SHARDS)
