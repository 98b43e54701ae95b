"""Where each kind of item lives in the customers table: one place for every key shape.

A store's own items share the partition `STORE#<store>`; a customer's history (timeline) has a
partition of its own, `STORE#<store>#CUSTOMER#<id>`. No key is ever built from anything but the
store id of the verified token, so no request can reach another store's items.
"""

from __future__ import annotations

from datetime import UTC, datetime

CUSTOMER_PREFIX = "CUSTOMER#"
EMAIL_PREFIX = "EMAIL#"
ORDER_PREFIX = "ORDER#"
REVIEW_PREFIX = "REVIEW#"
SEGMENT_PREFIX = "SEGMENT#"
JOB_PREFIX = "JOB#"
TAG_PREFIX = "TAG#"
TIMELINE_PREFIX = "T#"
MERGE_PREFIX = "MERGE#"


def store_pk(store_id: str) -> str:
    return f"STORE#{store_id}"


def customer_sk(customer_id: str) -> str:
    return CUSTOMER_PREFIX + customer_id


def customer_pk(store_id: str, customer_id: str) -> str:
    """The partition of one customer's history (timeline entries)."""
    return f"{store_pk(store_id)}#{CUSTOMER_PREFIX}{customer_id}"


def search_pk(store_id: str) -> str:
    return f"{store_pk(store_id)}#SEARCH"


def tag_pk(store_id: str, tag: str) -> str:
    return f"{store_pk(store_id)}#{TAG_PREFIX}{tag}"


def stamp(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds: sorts as text exactly as in time."""
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)
