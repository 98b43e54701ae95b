"""Where customers live: one DynamoDB table, no partition key that a whole store writes to.

Keys (chalicelib.customers.keys, README "Data model"): a customer is
`pk=STORE#<store>#CUSTOMER#<ulid>`, `sk=CUSTOMER#<ulid>` (the partition its timeline shares),
and carries its store shard (`shard`, chosen once from the store's shard count) and the hash
keys of the list indexes built from it (`list_key`, `*_key`: `STORE#<store>#<shard>...`, see
infra/customers.yaml). The one transaction that writes a customer also writes what must agree
with it, each under keys that spread a store's writes:
- the e-mail reservation `STORE#<store>#EMAIL#<address>` (e-mails unique per store, no scan,
  no index);
- search entries `STORE#<store>#SEARCH#<shard> / <token>\t<id>` (the name from each of its
  words, initials, e-mail, the phone's international digits and national forms);
- tag memberships `STORE#<store>#TAG#<shard>#<tag> / CUSTOMER#<id>`;
- the shard's counters `STORE#<store>#COUNT#<shard> / TOTALS` (the store, each tag, country,
  favorite, consent state: `counted`), one small update.
Profile writes set and remove profile attributes only: the order aggregates and activity other
writers keep on the same item are never overwritten.

A store's shard count (`STORE#<store> / SHARDS`, 1 when absent) only grows (`grow_shards`):
readers read every shard at once, writers move to the new shards only after every reader's
cached count has expired, so no reader misses an entry.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.customers import keys
from chalicelib.customers.errors import (
    CustomerError,
    EmailAlreadyUsed,
    InvalidField,
    VersionMismatch,
    WriteConflict,
)
from chalicelib.customers.profiles.rules import (
    PROFILE_FIELDS,
    Consent,
    Customer,
    Photo,
    tag_changes,
)
from chalicelib.customers.search.rules import name_key, search_tokens
from clientela.customer_filter import fold

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mypy_boto3_dynamodb import DynamoDBClient

CUSTOMER_PREFIX = keys.CUSTOMER_PREFIX
EMAIL_PREFIX = keys.EMAIL_PREFIX
# Between a search token and the customer id: never inside a token (no control characters).
TOKEN_SEPARATOR = "\t"  # noqa: S105 - not a secret
MAX_TRANSACTION_ACTIONS = 100  # DynamoDB's limit


class TooManyWrites(CustomerError):
    """The change needs more writes than one transaction holds."""


# What a profile write owns on the customer item; every other attribute belongs to other writers.
_PROFILE_OWNED = (
    *PROFILE_FIELDS,
    "email_consent",
    "sms_consent",
    "name_key",
    "country_key",
    "city_key",
    "favorite_key",
    "email_consent_key",
    "sms_consent_key",
    "updated_at",
    "version",
    "correlation_id",
)
_FACET_KEYS = ("country_key", "city_key", "favorite_key", "email_consent_key", "sms_consent_key")
_TOKEN_NAMESPACE = uuid.UUID("5b0f3c4e-2d1a-4e8b-9c7d-6a5f4e3d2c1b")
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# How long a process trusts the shard count it read; writers wait twice as long before
# writing to new shards (grow_shards), so every reader reads them first.
SHARDS_TTL = timedelta(seconds=60)
_shard_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}


def store_key(store_id: str) -> str:
    return keys.store_pk(store_id)


def customer_key(store_id: str, customer_id: str) -> dict[str, Any]:
    return keys.entity_key(store_id, CUSTOMER_PREFIX + customer_id)


def email_key(store_id: str, email: str) -> dict[str, Any]:
    return keys.entity_key(store_id, EMAIL_PREFIX + email)


def token_key(store_id: str, token: str, customer_id: str, shard: int = 0) -> dict[str, Any]:
    return {
        "pk": {"S": keys.search_pk(store_id, shard)},
        "sk": {"S": f"{token}{TOKEN_SEPARATOR}{customer_id}"},
    }


def member_key(store_id: str, tag: str, customer_id: str, shard: int = 0) -> dict[str, Any]:
    return {
        "pk": {"S": keys.tag_pk(store_id, tag, shard)},
        "sk": {"S": keys.customer_sk(customer_id)},
    }


def shards_key(store_id: str) -> dict[str, Any]:
    return {"pk": {"S": store_key(store_id)}, "sk": {"S": keys.SHARDS_SK}}


FAVORITE = "FAVORITE"  # the one value of the favorite index
TOTALS_SK = "TOTALS"
# Counters on a shard's TOTALS item: every customer, each tag, and each value of the
# equalities whose values are few (a country, favorite, each consent state). Cities are many:
# not counted. One item, so a customer's write adds one small update whatever it changes.
COUNTED = ("customers", "country", "favorite", "email_consent", "sms_consent")


TAG_COUNTER = "tag#"


def totals_key(store_id: str, shard: int) -> dict[str, Any]:
    return {"pk": {"S": keys.counts_pk(store_id, shard)}, "sk": {"S": TOTALS_SK}}


def counter_name(name: str, value: Any = None) -> str:
    """The TOTALS attribute counting customers with `name` = `value`."""
    if name in ("customers", "favorite"):
        return name
    return f"{name}#{value}"


def counted(customer: Customer | None) -> Counter[str]:
    """What the customer adds to its shard's counters."""
    if customer is None:
        return Counter()
    found = Counter(
        {
            counter_name("customers"): 1,
            counter_name("email_consent", customer.email_consent.state): 1,
            counter_name("sms_consent", customer.sms_consent.state): 1,
        }
    )
    if customer.country:
        found[counter_name("country", customer.country)] += 1
    if customer.favorite:
        found[counter_name("favorite")] += 1
    for tag in customer.tags:
        found[counter_name("tag", tag)] += 1
    return found


def count_changes(old: Customer | None, new: Customer | None) -> dict[str, int]:
    deltas = Counter(counted(new))
    deltas.subtract(counted(old))
    return {name: delta for name, delta in sorted(deltas.items()) if delta}


_stamp = keys.stamp


def _consent_map(consent: Consent) -> dict[str, Any]:
    record: dict[str, Any] = {"state": consent.state}
    if consent.opt_in_level:
        record["opt_in_level"] = consent.opt_in_level
    if consent.updated_at:
        record["updated_at"] = _stamp(consent.updated_at)
    if consent.source:
        record["source"] = consent.source
    return record


def _consent_of(record: dict[str, Any] | None) -> Consent:
    if not record:
        return Consent()
    updated = record.get("updated_at")
    return Consent(
        state=record.get("state", "never_asked"),
        opt_in_level=record.get("opt_in_level"),
        updated_at=datetime.fromisoformat(updated) if updated else None,
        source=record.get("source"),
    )


def photo_map(photo: Photo) -> dict[str, Any]:
    """The uploaded photo as the customer item's `photo` attribute (written by photo_store)."""
    return {
        "id": photo.id,
        "key": photo.key,
        "content_type": photo.content_type,
        "width": photo.width,
        "height": photo.height,
        "size": photo.size,
        "updated_at": _stamp(photo.updated_at),
    }


def _photo_of(record: dict[str, Any] | None) -> Photo | None:
    if not record:
        return None
    return Photo(
        id=record["id"],
        key=record["key"],
        content_type=record["content_type"],
        width=int(record["width"]),
        height=int(record["height"]),
        size=int(record["size"]),
        updated_at=datetime.fromisoformat(record["updated_at"]),
    )


def profile_attributes(customer: Customer) -> dict[str, Any]:
    """The attributes a profile write owns, as plain values (absent ones are removed)."""
    store_id, shard = customer.store_id, customer.shard
    values: dict[str, Any] = {
        **{k: v for k, v in customer.profile().items() if v not in (None, [], {}, False)},
        "email_consent": _consent_map(customer.email_consent),
        "sms_consent": _consent_map(customer.sms_consent),
        "name_key": name_key(customer),
        "email_consent_key": keys.facet_pk(store_id, shard, customer.email_consent.state),
        "sms_consent_key": keys.facet_pk(store_id, shard, customer.sms_consent.state),
        "updated_at": _stamp(customer.updated_at),
        "version": customer.version,
    }
    if isinstance(values.get("birthday"), date):
        values["birthday"] = values["birthday"].isoformat()
    if customer.country:
        values["country_key"] = keys.facet_pk(store_id, shard, customer.country)
    if customer.city:
        values["city_key"] = keys.facet_pk(store_id, shard, fold(customer.city))
    if customer.favorite:
        values["favorite_key"] = keys.facet_pk(store_id, shard, FAVORITE)
    return values


def to_item(customer: Customer, *, correlation_id: str | None = None) -> dict[str, Any]:
    """A whole customer item, aggregates included: what a new customer is written as."""
    attributes: dict[str, Any] = {
        "entity": "customer",
        "id": customer.id,
        "store_id": customer.store_id,
        "created_at": _stamp(customer.created_at),
        "shard": customer.shard,
        "list_key": keys.list_pk(customer.store_id, customer.shard),
        "orders_count": customer.orders_count,
        "total_spent": customer.total_spent,
        **({"currency": customer.currency} if customer.currency else {}),
        "rating_count": customer.rating_count,
        "rating_sum": customer.rating_sum,
        "last_order_key": _stamp(customer.last_order_at) if customer.last_order_at else "0",
        "last_seen_key": _stamp(customer.last_seen_at) if customer.last_seen_at else "0",
        **profile_attributes(customer),
    }
    for name in ("first_order_at", "last_order_at", "last_seen_at"):
        value = getattr(customer, name)
        if value is not None:
            attributes[name] = _stamp(value)
    for name in ("last_ip", "last_device"):
        if getattr(customer, name):
            attributes[name] = getattr(customer, name)
    if correlation_id:
        # Request id (not personal data): lets the published event name its cause.
        attributes["correlation_id"] = correlation_id
    item = {name: _serializer.serialize(value) for name, value in attributes.items()}
    return {**customer_key(customer.store_id, customer.id), **item}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _plain_numbers(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (int(v) if isinstance(v, Decimal) and v == v.to_integral() else v)
        for k, v in values.items()
    }


def from_item(item: dict[str, Any]) -> Customer:
    data = plain(item)
    birthday = data.get("birthday")
    return Customer(
        id=data["id"],
        store_id=data["store_id"],
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        version=int(data["version"]),
        email=data.get("email"),
        phone=data.get("phone"),
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        city=data.get("city"),
        region=data.get("region"),
        country=data.get("country"),
        gender=data.get("gender"),
        birthday=date.fromisoformat(birthday) if birthday else None,
        language=data.get("language"),
        tags=sorted(data.get("tags", [])),
        favorite=bool(data.get("favorite", False)),
        notes=data.get("notes"),
        attributes=_plain_numbers(dict(data.get("attributes", {}))),
        social=dict(data.get("social", {})),
        engagement={k: int(v) for k, v in data.get("engagement", {}).items()},
        photo_url=data.get("photo_url"),
        photo=_photo_of(data.get("photo")),
        email_consent=_consent_of(data.get("email_consent")),
        sms_consent=_consent_of(data.get("sms_consent")),
        last_seen_at=_when(data.get("last_seen_at")),
        last_ip=data.get("last_ip"),
        last_device=data.get("last_device"),
        orders_count=int(data.get("orders_count", 0)),
        total_spent=Decimal(data.get("total_spent", 0)),
        currency=data.get("currency"),
        first_order_at=_when(data.get("first_order_at")),
        last_order_at=_when(data.get("last_order_at")),
        rating_count=int(data.get("rating_count", 0)),
        rating_sum=Decimal(data.get("rating_sum", 0)),
        shard=int(data.get("shard", 0)),
    )


def _request_token(customer: Customer, operation: str) -> str:
    """The same write of the same customer version always carries the same token."""
    name = f"{customer.store_id}/{customer.id}/{customer.version}/{operation}"
    return str(uuid.uuid5(_TOKEN_NAMESPACE, name))


def _same_profile(stored: Customer, written: Customer) -> bool:
    """Whether the stored customer is the one we wrote (aggregates may have moved since)."""
    return profile_attributes(stored) == profile_attributes(written)


def _reasons(error: ClientError) -> list[str]:
    return [reason.get("Code", "") for reason in error.response.get("CancellationReasons", [])]


class CustomerStore:
    """Customers of any store, always addressed through the store id."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def get(self, store_id: str, customer_id: str) -> Customer | None:
        """The customer, wherever it is: while the store is re-keyed, one still in the first
        layout is moved first (`adopt`), so every write that follows finds it at its key."""
        response = self._db.get_item(
            TableName=self._table, Key=customer_key(store_id, customer_id), ConsistentRead=True
        )
        item = response.get("Item")
        if item is None and self.migrating(store_id):
            old = self._db.get_item(
                TableName=self._table,
                Key=keys.first_layout_key(store_id, keys.customer_sk(customer_id)),
                ConsistentRead=True,
            ).get("Item")
            if old is None:
                return None
            self.adopt(store_id, dict(old))
            response = self._db.get_item(
                TableName=self._table, Key=customer_key(store_id, customer_id), ConsistentRead=True
            )
            item = response.get("Item")
        return from_item(item) if item else None

    def owner_of_email(self, store_id: str, email: str) -> str | None:
        response = self._db.get_item(
            TableName=self._table, Key=email_key(store_id, email), ConsistentRead=True
        )
        item = response.get("Item")
        if item is None and self.migrating(store_id):
            item = self._db.get_item(
                TableName=self._table,
                Key=keys.first_layout_key(store_id, EMAIL_PREFIX + email),
                ConsistentRead=True,
            ).get("Item")
        return str(item["customer_id"]["S"]) if item else None

    def first_layout_email_owners(self, store_id: str, emails: Iterable[str]) -> dict[str, str]:
        """While the store is re-keyed, the customer each e-mail is reserved by in the first
        layout (for the e-mails a reader did not find in today's); {} otherwise, unread."""
        wanted = sorted(set(emails))
        if not wanted or not self.migrating(store_id):
            return {}
        owners: dict[str, str] = {}
        for start in range(0, len(wanted), 100):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": [
                        keys.first_layout_key(store_id, EMAIL_PREFIX + email)
                        for email in wanted[start : start + 100]
                    ],
                    "ConsistentRead": True,
                    "ProjectionExpression": "sk, customer_id",
                }
            }
            while pending:
                response = self._db.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self._table, []):
                    owners[item["sk"]["S"].removeprefix(EMAIL_PREFIX)] = item["customer_id"]["S"]
                pending = response.get("UnprocessedKeys") or {}
        return owners

    def _first_layout_email_free(self, customer: Customer) -> dict[str, Any]:
        """While the store is re-keyed, a customer not moved yet holds its e-mail under the
        first layout's key: a new reservation also needs that one free."""
        assert customer.email
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": keys.first_layout_key(customer.store_id, EMAIL_PREFIX + customer.email),
                "ConditionExpression": "attribute_not_exists(pk) OR customer_id = :id",
                "ExpressionAttributeValues": {":id": {"S": customer.id}},
            }
        }

    def _reserve_email(self, customer: Customer) -> dict[str, Any]:
        assert customer.email
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    **email_key(customer.store_id, customer.email),
                    "entity": {"S": "email"},
                    "customer_id": {"S": customer.id},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _release_email(self, customer: Customer) -> dict[str, Any]:
        assert customer.email
        return {
            "Delete": {
                "TableName": self._table,
                "Key": email_key(customer.store_id, customer.email),
                # A missing reservation (never written, or lost) must not block the change.
                "ConditionExpression": "attribute_not_exists(pk) OR customer_id = :id",
                "ExpressionAttributeValues": {":id": {"S": customer.id}},
            }
        }

    def _entries(self, old: Customer | None, new: Customer | None) -> list[dict[str, Any]]:
        """Search entries and tag memberships that change from old to new (their counts are
        in the shard's TOTALS, `totals_updates`)."""
        subject = new or old
        assert subject is not None
        store_id, customer_id, shard = subject.store_id, subject.id, subject.shard
        actions: list[dict[str, Any]] = []
        old_tokens = search_tokens(old) if old else set()
        new_tokens = search_tokens(new) if new else set()
        for token in sorted(old_tokens - new_tokens):
            key = token_key(store_id, token, customer_id, shard)
            actions.append({"Delete": {"TableName": self._table, "Key": key}})
        for token in sorted(new_tokens - old_tokens):
            item = {
                **token_key(store_id, token, customer_id, shard),
                "customer_id": {"S": customer_id},
            }
            actions.append({"Put": {"TableName": self._table, "Item": item}})
        added, removed = tag_changes(old.tags if old else [], new.tags if new else [])
        for tag in sorted(added):
            member = member_key(store_id, tag, customer_id, shard)
            actions.append({"Put": {"TableName": self._table, "Item": member}})
        for tag in sorted(removed):
            key = member_key(store_id, tag, customer_id, shard)
            actions.append({"Delete": {"TableName": self._table, "Key": key}})
        return actions

    def totals_updates(
        self, store_id: str, deltas: dict[int, dict[str, int]]
    ) -> list[dict[str, Any]]:
        """Per shard, one update of its TOTALS item adding the deltas (none when all are 0)."""
        actions = []
        for shard, changes in sorted(deltas.items()):
            if not changes:
                continue
            refs = {f"#c{i}": name for i, name in enumerate(changes)}
            actions.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": totals_key(store_id, shard),
                        "UpdateExpression": "ADD " + ", ".join(f"{r} :{r[1:]}" for r in refs),
                        "ExpressionAttributeNames": refs,
                        "ExpressionAttributeValues": {
                            f":{ref[1:]}": {"N": str(changes[name])} for ref, name in refs.items()
                        },
                    }
                }
            )
        return actions

    def add(self, customer: Customer, *, correlation_id: str | None = None) -> None:
        """Writes a new customer, reserving its e-mail. Raises EmailAlreadyUsed."""
        shard = keys.shard_of(customer.id, self.write_shards(customer.store_id))
        customer = dataclasses.replace(customer, shard=shard)
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(customer, correlation_id=correlation_id),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        actions = [put] + ([self._reserve_email(customer)] if customer.email else [])
        email_index = 1 if customer.email else None
        if customer.email and self.migrating(customer.store_id):
            actions.insert(2, self._first_layout_email_free(customer))
        actions += self._entries(None, customer)
        actions += self.totals_updates(customer.store_id, {shard: count_changes(None, customer)})
        self._transact(actions, customer, email_index=email_index, operation="add")

    def _profile_update(
        self,
        old: Customer,
        new: Customer,
        correlation_id: str | None,
        add: dict[str, Decimal] | None = None,
        sets: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Sets the profile attributes of `new` and removes those it lacks; nothing else
        (but the counters in `add`, added to what is stored, and the attributes in `sets`)."""
        values = profile_attributes(new)
        if correlation_id:
            values["correlation_id"] = correlation_id
        names = {f"#a{i}": name for i, name in enumerate(_PROFILE_OWNED)}
        alias = {name: key for key, name in names.items()}
        assignments = [
            f"{alias[name]} = :a{alias[name][2:]}" for name in _PROFILE_OWNED if name in values
        ]
        extra = {f"#x{i}": (name, value) for i, (name, value) in enumerate((sets or {}).items())}
        assignments += [f"{ref} = :{ref[1:]}" for ref in extra]
        removes = [alias[name] for name in _PROFILE_OWNED if name not in values]
        expression = "SET " + ", ".join(assignments)
        expression += " REMOVE " + ", ".join(removes) if removes else ""
        used = {alias[name] for name in _PROFILE_OWNED}
        added = {f":add{i}": (name, value) for i, (name, value) in enumerate((add or {}).items())}
        if added:
            expression += " ADD " + ", ".join(f"{name} {ref}" for ref, (name, _) in added.items())
        update: dict[str, Any] = {
            "Update": {
                "TableName": self._table,
                "Key": customer_key(new.store_id, new.id),
                "UpdateExpression": expression,
                "ConditionExpression": "#a_version = :expected",
                "ExpressionAttributeNames": {
                    **{k: v for k, v in names.items() if k in used},
                    **{ref: name for ref, (name, _) in extra.items()},
                    "#a_version": "version",
                },
                "ExpressionAttributeValues": {
                    **{
                        f":a{alias[name][2:]}": _serializer.serialize(value)
                        for name, value in values.items()
                    },
                    ":expected": {"N": str(old.version)},
                    **{ref: {"N": str(value)} for ref, (_, value) in added.items()},
                    **{f":{ref[1:]}": _serializer.serialize(v) for ref, (_, v) in extra.items()},
                },
            }
        }
        return update

    def replace(self, old: Customer, new: Customer, *, correlation_id: str | None = None) -> None:
        """Writes `new`'s profile if the stored customer is still at `old`'s version.

        Raises VersionMismatch.
        """
        actions: list[dict[str, Any]] = [self._profile_update(old, new, correlation_id)]
        email_index = None
        if old.email != new.email:
            if old.email:
                actions.append(self._release_email(old))
            if new.email:
                email_index = len(actions)
                actions.append(self._reserve_email(new))
                if self.migrating(new.store_id):
                    actions.append(self._first_layout_email_free(new))
        actions += self._entries(old, new)
        actions += self.totals_updates(new.store_id, {new.shard: count_changes(old, new)})
        if len(actions) > MAX_TRANSACTION_ACTIONS:
            # Only a change of many tags together with a new name, e-mail and phone gets here.
            raise InvalidField(
                "tags",
                "too many changes for one write: change fewer tags together with a new name,"
                " e-mail and phone, or send them in separate requests",
            )
        self._transact(actions, new, email_index=email_index, operation="replace")

    def remove(self, customer: Customer) -> None:
        """Deletes the customer as it was read. Raises VersionMismatch if it changed since."""
        delete = {
            "Delete": {
                "TableName": self._table,
                "Key": customer_key(customer.store_id, customer.id),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(customer.version)}},
            }
        }
        actions = [delete] + ([self._release_email(customer)] if customer.email else [])
        actions += self._entries(customer, None)
        actions += self.totals_updates(
            customer.store_id, {customer.shard: count_changes(customer, None)}
        )
        self._transact(actions, customer, email_index=None, operation="remove")

    def merge(
        self,
        old: Customer,
        new: Customer,
        others: list[Customer],
        record: dict[str, Any],
        *,
        add: dict[str, Decimal],
        sets: dict[str, Any],
        correlation_id: str | None = None,
    ) -> None:
        """One transaction: the kept profile becomes `new` (plus the counters in `add` and the
        attributes in `sets`), the others are deleted as they were read, and the merge record
        is written (its stream record becomes the customer.merged event). Raises
        VersionMismatch if any changed."""
        actions: list[dict[str, Any]] = [self._profile_update(old, new, correlation_id, add, sets)]
        totals: dict[int, Counter[str]] = {}
        totals.setdefault(new.shard, Counter()).update(count_changes(old, new))
        actions += self._entries(old, new)
        for other in others:
            actions.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": customer_key(other.store_id, other.id),
                        "ConditionExpression": "version = :expected",
                        "ExpressionAttributeValues": {":expected": {"N": str(other.version)}},
                    }
                }
            )
            if other.email:
                actions.append(self._release_email(other))
            actions += self._entries(other, None)
            totals.setdefault(other.shard, Counter()).update(count_changes(other, None))
        actions += self.totals_updates(
            new.store_id,
            {shard: {k: v for k, v in sorted(c.items()) if v} for shard, c in totals.items()},
        )
        item = {name: _serializer.serialize(value) for name, value in record.items()}
        actions.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        if len(actions) > MAX_TRANSACTION_ACTIONS:
            raise TooManyWrites
        self._transact(actions, new, email_index=None, operation="merge")

    def _transact(
        self,
        actions: list[dict[str, Any]],
        customer: Customer,
        *,
        email_index: int | None,
        operation: str,
    ) -> None:
        """All actions or none; one action is a plain conditional write (half the capacity).

        The request token makes the SDK's own retries of a transaction idempotent; a retried
        single write that had landed is recognised by finding our own state stored.
        """
        try:
            if len(actions) == 1:
                self._write_one(actions[0])
            else:
                self._db.transact_write_items(
                    TransactItems=actions,  # type: ignore[arg-type]
                    ClientRequestToken=_request_token(customer, operation),
                )
        except ClientError as error:
            self._explain(error, customer, email_index)

    def _explain(self, error: ClientError, customer: Customer, email_index: int | None) -> None:
        """Turns a refused write into a domain error, or returns if our own write had landed."""
        code = error.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            reasons = ["ConditionalCheckFailed"]
        elif code == "TransactionCanceledException":
            reasons = _reasons(error)
        elif code == "TransactionConflictException":
            raise WriteConflict from None
        else:
            raise error
        if "TransactionConflict" in reasons:
            raise WriteConflict from None
        if reasons[:1] == ["ConditionalCheckFailed"]:
            current = self.get(customer.store_id, customer.id)
            if current is not None and _same_profile(current, customer):
                return
            raise VersionMismatch(current.version if current else None) from None
        # The reservation, or (while the store is re-keyed) its first layout's key just after.
        if (
            email_index is not None
            and "ConditionalCheckFailed" in reasons[email_index : email_index + 2]
        ):
            assert customer.email
            owner = self.owner_of_email(customer.store_id, customer.email)
            if owner == customer.id:
                return
            if owner is None:  # released while we tried: the next attempt may well succeed
                raise WriteConflict from None
            raise EmailAlreadyUsed(owner) from None
        raise error

    def _write_one(self, action: dict[str, Any]) -> None:
        if "Put" in action:
            self._db.put_item(**action["Put"])
        elif "Update" in action:
            self._db.update_item(**action["Update"])
        else:
            self._db.delete_item(**action["Delete"])

    def page(
        self, store_id: str, *, limit: int, after_id: str | None
    ) -> tuple[list[Customer], bool]:
        """One page of a store's customers, newest first, and whether more follow.

        Reads one item past the page of every shard (index `by_created`) and merges them.
        """
        found: list[Customer] = []
        for shard in range(self.shards(store_id)):
            values: dict[str, Any] = {":pk": {"S": keys.list_pk(store_id, shard)}}
            condition = "list_key = :pk"
            if after_id:
                condition += " AND sk < :after"
                values[":after"] = {"S": keys.customer_sk(after_id)}
            response = self._db.query(
                TableName=self._table,
                IndexName="by_created",
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ScanIndexForward=False,
                Limit=limit + 1,
            )
            found += [from_item(item) for item in response.get("Items", [])]
        found.sort(key=lambda customer: customer.id, reverse=True)
        return found[:limit], len(found) > limit

    # Shards -----------------------------------------------------------------------------

    def _shard_record(self, store_id: str) -> dict[str, Any]:
        cached = _shard_cache.get((self._table, store_id))
        now = time.monotonic()
        if cached and now - cached[0] < SHARDS_TTL.total_seconds():
            return cached[1]
        item = self._db.get_item(TableName=self._table, Key=shards_key(store_id)).get("Item")
        record = plain(item) if item else {}
        _shard_cache[(self._table, store_id)] = (now, record)
        return record

    def shards(self, store_id: str) -> int:
        """How many shards readers read: every shard any writer may write to."""
        return int(self._shard_record(store_id).get("shards", 1))

    def write_shards(self, store_id: str) -> int:
        """How many shards new customers are spread over (the grown count once readers know
        it)."""
        record = self._shard_record(store_id)
        since = record.get("since")
        if since and datetime.now(UTC) < datetime.fromisoformat(since):
            return int(record.get("previous", 1))
        return int(record.get("shards", 1))

    def grow_shards(self, store_id: str, shards: int, *, now: datetime | None = None) -> None:
        """Spreads the store's new customers over `shards` shards (never fewer than today)."""
        current = self.shards(store_id)
        if shards <= current:
            return
        writers = self.write_shards(store_id)  # until `since`, writers keep to what they had
        since = (now or datetime.now(UTC)) + 2 * SHARDS_TTL
        try:
            self._db.update_item(
                TableName=self._table,
                Key=shards_key(store_id),
                UpdateExpression="SET shards = :n, previous = :p, since = :since",
                # Two writers growing at once: the larger count stays (it never shrinks).
                ConditionExpression="attribute_not_exists(shards) OR shards < :n",
                ExpressionAttributeValues={
                    ":n": {"N": str(shards)},
                    ":p": {"N": str(writers)},
                    ":since": {"S": _stamp(since)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        _shard_cache.pop((self._table, store_id), None)

    def migrating(self, store_id: str) -> bool:
        """Whether the store is being re-keyed from the first layout: its readers also read
        what is not moved yet (README "Data model", migration). Kept on the shard record, so
        it costs no read of its own."""
        return bool(self._shard_record(store_id).get("migrating"))

    def set_migrating(self, store_id: str, migrating: bool) -> None:
        expression = "SET migrating = :on" if migrating else "REMOVE migrating"
        values = {"ExpressionAttributeValues": {":on": {"BOOL": True}}} if migrating else {}
        self._db.update_item(
            TableName=self._table,
            Key=shards_key(store_id),
            UpdateExpression=expression,
            **values,  # type: ignore[arg-type]
        )
        _shard_cache.pop((self._table, store_id), None)

    def adopt(self, store_id: str, old: dict[str, Any]) -> bool:
        """Moves one customer of the first layout to its own partition, with its search
        entries, tag memberships, e-mail reservation and counters; False when an earlier
        move (or a change since it was read) got there first. Safe to repeat anywhere: the
        entries are idempotent puts, and one transaction puts the new item on condition it
        does not exist, adds the counters and deletes the old item on condition of its
        version; the old entries go after it. The item carries `migrated`: the stream
        consumers publish nothing and add no timeline entry for the move."""
        customer = from_item(old)
        shard = keys.shard_of(customer.id, self.write_shards(store_id))
        moved = dataclasses.replace(customer, shard=shard)
        # The equality indexes' keys now name a shard: profile_attributes writes them anew.
        new = {k: v for k, v in old.items() if k not in _FACET_KEYS}
        new.update(
            {
                name: _serializer.serialize(value)
                for name, value in {
                    **profile_attributes(moved),
                    "shard": shard,
                    "list_key": keys.list_pk(store_id, shard),
                    "migrated": True,
                }.items()
            }
        )
        new.update(customer_key(store_id, customer.id))
        entries: list[dict[str, Any]] = [
            {**token_key(store_id, token, customer.id, shard), "customer_id": {"S": customer.id}}
            for token in sorted(search_tokens(moved))
        ]
        entries += [member_key(store_id, tag, customer.id, shard) for tag in moved.tags]
        if customer.email:
            entries.append(
                {
                    **email_key(store_id, customer.email),
                    "entity": {"S": "email"},
                    "customer_id": {"S": customer.id},
                }
            )
        self.batch_write(puts=entries)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": new,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": {"pk": old["pk"], "sk": old["sk"]},
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": old["version"]},
                }
            },
        ]
        actions += self.totals_updates(store_id, {shard: count_changes(None, moved)})
        # The first layout's tag counts then count the customers not moved yet (tag_counts).
        actions += [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": keys.first_layout_key(store_id, keys.TAG_PREFIX + tag),
                    "UpdateExpression": "ADD customers :minus",
                    "ExpressionAttributeValues": {":minus": {"N": "-1"}},
                }
            }
            for tag in customer.tags
        ]
        try:
            self._db.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        old_entries = [
            {
                "pk": {"S": keys.first_layout_search_pk(store_id)},
                "sk": {"S": f"{token}{TOKEN_SEPARATOR}{customer.id}"},
            }
            for token in search_tokens(customer)
        ]
        old_entries += [
            {
                "pk": {"S": keys.first_layout_tag_pk(store_id, tag)},
                "sk": {"S": keys.customer_sk(customer.id)},
            }
            for tag in customer.tags
        ]
        if customer.email:
            old_entries.append(keys.first_layout_key(store_id, EMAIL_PREFIX + customer.email))
        self.batch_write(deletes=old_entries)
        return True

    def adopt_entity(self, store_id: str, old: dict[str, Any]) -> None:
        """Moves an order, a review marker or a merge record of the first layout to its own
        partition (orders also join the date index of a shard); idempotent."""
        sk = old["sk"]["S"]
        new = {**old, **keys.entity_key(store_id, sk), "migrated": {"BOOL": True}}
        if sk.startswith(keys.ORDER_PREFIX) and "placed_at" in old:
            shard = keys.shard_of(sk.removeprefix(keys.ORDER_PREFIX), self.write_shards(store_id))
            new["orders_key"] = {"S": keys.list_pk(store_id, shard)}
        delete = {"TableName": self._table, "Key": {"pk": old["pk"], "sk": old["sk"]}}
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": new,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Delete": delete},  # type: ignore[typeddict-item]
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            self._db.delete_item(**delete)  # type: ignore[arg-type]  # moved before: the copy goes

    def batch_write(
        self,
        *,
        puts: list[dict[str, Any]] | None = None,
        deletes: list[dict[str, Any]] | None = None,
    ) -> int:
        """Idempotent puts and deletes, 25 a request, until every one is done; how many."""
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in puts or []]
        requests += [{"DeleteRequest": {"Key": key}} for key in deletes or []]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self._table: requests[start : start + 25]}
            while pending:
                answer = self._db.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
        return len(requests)

    def query(self, request: dict[str, Any]) -> dict[str, Any]:
        """One Query page on the table or an index (the search planner builds the request)."""
        response = self._db.query(TableName=self._table, **request)
        return dict(response)

    def get_many(self, store_id: str, customer_ids: list[str]) -> dict[str, Customer]:
        """The customers that exist among the ids, by id (BatchGetItem, 100 keys a request)."""
        found: dict[str, Customer] = {}
        unique = list(dict.fromkeys(customer_ids))
        for start in range(0, len(unique), 100):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": [customer_key(store_id, cid) for cid in unique[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while pending:
                response = self._db.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self._table, []):
                    customer = from_item(item)
                    found[customer.id] = customer
                pending = response.get("UnprocessedKeys") or {}
        missing = [cid for cid in unique if cid not in found]
        if missing and self.migrating(store_id):
            # Not moved yet: read where the first layout keeps it (no move on a list's read).
            for start in range(0, len(missing), 100):
                pending = {
                    self._table: {
                        "Keys": [
                            keys.first_layout_key(store_id, keys.customer_sk(cid))
                            for cid in missing[start : start + 100]
                        ],
                        "ConsistentRead": True,
                    }
                }
                while pending:
                    response = self._db.batch_get_item(RequestItems=pending)
                    for item in response.get("Responses", {}).get(self._table, []):
                        customer = from_item(item)
                        found[customer.id] = customer
                    pending = response.get("UnprocessedKeys") or {}
        return found

    def count(
        self,
        store_id: str,
        counters: list[str],
        *,
        minus: tuple[str, ...] = (),
        tag: str | None = None,
    ) -> int:
        """The sum over every shard of the TOTALS counters named (less those in `minus`), or
        of a tag's count: one BatchGetItem of one small item per shard, whatever the store's
        size (eventually consistent: a write of the last second may not show yet)."""
        shards = range(self.shards(store_id))
        wanted = [totals_key(store_id, shard) for shard in shards]
        names = [counter_name("tag", tag)] if tag is not None else [*counters, *minus]
        refs = {f"#n{i}": name for i, name in enumerate(names)}
        total = 0
        for start in range(0, len(wanted), 100):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": wanted[start : start + 100],
                    "ProjectionExpression": ", ".join(refs),
                    "ExpressionAttributeNames": refs,
                }
            }
            while pending:
                response = self._db.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self._table, []):
                    for name in names:
                        value = int(item.get(name, {}).get("N", "0"))
                        total += -value if name in minus else value
                pending = response.get("UnprocessedKeys") or {}
        return total

    def tag_counts(self, store_id: str) -> list[tuple[str, int]]:
        """Every tag of the store with the number of customers carrying it, by tag (one
        BatchGetItem of the shards' TOTALS)."""
        counts: Counter[str] = Counter()
        wanted = [totals_key(store_id, shard) for shard in range(self.shards(store_id))]
        for start in range(0, len(wanted), 100):
            pending: dict[str, Any] = {self._table: {"Keys": wanted[start : start + 100]}}
            while pending:
                response = self._db.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self._table, []):
                    for name, value in item.items():
                        if name.startswith(TAG_COUNTER):
                            counts[name.removeprefix(TAG_COUNTER)] += int(value["N"])
                pending = response.get("UnprocessedKeys") or {}
        if self.migrating(store_id):
            counts.update(self._first_layout_tag_counts(store_id))
        return sorted((tag, count) for tag, count in counts.items() if count > 0)

    def _first_layout_tag_counts(self, store_id: str) -> Counter[str]:
        """The first layout's tag counts: its customers not moved yet, by tag (adopt)."""
        counts: Counter[str] = Counter()
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :tag)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.store_pk(store_id)},
                ":tag": {"S": keys.TAG_PREFIX},
            },
        }
        while True:
            response = self._db.query(**request)
            for item in response.get("Items", []):
                tag = item["sk"]["S"].removeprefix(keys.TAG_PREFIX)
                counts[tag] += int(item.get("customers", {}).get("N", "0"))
            if "LastEvaluatedKey" not in response:
                return counts
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
