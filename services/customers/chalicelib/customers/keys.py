"""Where each kind of item lives in the customers table: one place for every key shape.

No partition key takes a store's per-customer writes (README "Data model"):
- an entity with an id of its own (a customer, an order, a review marker, an e-mail
  reservation, a merge record) is `pk=STORE#<store>#<sk>`, `sk=<KIND>#<id>` (`entity_key`); a
  customer's history (timeline) shares its customer's partition, `STORE#<store>#CUSTOMER#<id>`;
- store-wide lists (search entries, tag memberships, the list indexes' hash keys, counters) are
  written to one of the store's shards, `...#<shard>`, the shard being the customer's own
  (`shard_of`, kept on the customer item); readers read every shard and merge;
- what a store writes rarely (segments, jobs, its shard count) stays under `STORE#<store>`.
No key is ever built from anything but the store id of the verified token, so no request can
reach another store's items.
"""

from __future__ import annotations

import zlib
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


def entity_pk(store_id: str, sk: str) -> str:
    """The partition of one entity whose sort key (`<KIND>#<id>`) names it."""
    return f"{store_pk(store_id)}#{sk}"


def entity_key(store_id: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": entity_pk(store_id, sk)}, "sk": {"S": sk}}


def entity_store(pk: str, sk: str) -> str | None:
    """The store of an entity item (`entity_key`); None for any other item."""
    if not pk.startswith("STORE#") or not pk.endswith("#" + sk):
        return None
    store_id = pk.removeprefix("STORE#").removesuffix("#" + sk)
    return store_id if store_id and "#" not in store_id else None


def shard_of(entity_id: str, shards: int) -> int:
    """The shard a new customer (or order) is written to: stable, spread evenly."""
    return zlib.crc32(entity_id.encode()) % max(shards, 1)


def list_pk(store_id: str, shard: int) -> str:
    """The hash key of the list indexes (`by_created`, the sorts, `orders_by_date`)."""
    return f"{store_pk(store_id)}#{shard}"


def facet_pk(store_id: str, shard: int, value: str) -> str:
    """The hash key of an equality index (`by_country`, `by_favorite`, ...)."""
    return f"{store_pk(store_id)}#{shard}#{value}"


def search_pk(store_id: str, shard: int = 0) -> str:
    return f"{store_pk(store_id)}#SEARCH#{shard}"


def tag_pk(store_id: str, tag: str, shard: int = 0) -> str:
    return f"{store_pk(store_id)}#{TAG_PREFIX}{shard}#{tag}"


def counts_pk(store_id: str, shard: int) -> str:
    """A shard's counters (`sk=TAG#<tag>`, ...): one partition per shard."""
    return f"{store_pk(store_id)}#COUNT#{shard}"


def counts_store(pk: str) -> str | None:
    """The store of a shard's counters item (`counts_pk`); None for any other key."""
    head, marker, shard = pk.rpartition("#COUNT#")
    store_id = head.removeprefix("STORE#")
    if not marker or not shard.isdigit() or not head.startswith("STORE#") or "#" in store_id:
        return None
    return store_id or None


SHARDS_SK = "SHARDS"


# The first layout (before stores had shards), read while a store is being re-keyed
# (customers/migration): every entity under `STORE#<store>` itself, one search partition and
# one partition per tag, and the equality indexes' hash keys without a shard.
def first_layout_key(store_id: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": store_pk(store_id)}, "sk": {"S": sk}}


def first_layout_search_pk(store_id: str) -> str:
    return f"{store_pk(store_id)}#SEARCH"


def first_layout_tag_pk(store_id: str, tag: str) -> str:
    return f"{store_pk(store_id)}#{TAG_PREFIX}{tag}"


def first_layout_facet_pk(store_id: str, value: str) -> str:
    return f"{store_pk(store_id)}#{value}"


def stamp(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds: sorts as text exactly as in time."""
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)
