"""Finding customers: which index serves a filter and sort, and reading it a page at a time.

`plan` picks one way to read (one of the list indexes, tag memberships or search entries) from
the filters and the sort; `find` reads it until the page is full, checking every customer read
with `CustomerFilter.matches`. Every way to read is one Query per store shard (keys.py): a
store of one shard reads exactly as one partition; a store of several merges the shards' pages
in the exact sort order (a k-way merge on the index's sort key), and its cursor holds where
each shard stands. What the chosen index serves costs about one page;
filters it does not serve are checked on what it reads, up to READ_BUDGET items per request,
after which the page ends early with a cursor. README "Search and filters" lists the plans.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ulid import ULID

from chalicelib.customers import keys
from chalicelib.customers.errors import InvalidField
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.store import (
    FAVORITE,
    TOKEN_SEPARATOR,
    CustomerStore,
    counter_name,
    from_item,
)
from chalicelib.customers.search.rules import (
    CustomerFilter,
    SearchQuery,
    matching_tokens,
    name_key,
    search_query,
)
from clientela.customer_filter import fold

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # ULIDs count milliseconds from here
READ_BUDGET = 1000  # items examined per request before a page ends early
PAGE_OF_READS = 200  # DynamoDB Limit when filters not served by the index are checked

# Each index's key attributes (infra/customers.yaml): a page's last position is built from them.
INDEX_KEYS: dict[str | None, tuple[str, str]] = {
    None: ("pk", "sk"),
    "by_created": ("list_key", "sk"),
    "by_name": ("list_key", "name_key"),
    "by_total_spent": ("list_key", "total_spent"),
    "by_orders_count": ("list_key", "orders_count"),
    "by_last_order": ("list_key", "last_order_key"),
    "by_last_seen": ("list_key", "last_seen_key"),
    "by_country": ("country_key", "sk"),
    "by_city": ("city_key", "sk"),
    "by_favorite": ("favorite_key", "sk"),
    "by_email_consent": ("email_consent_key", "sk"),
    "by_sms_consent": ("sms_consent_key", "sk"),
}
SORT_INDEXES = {
    "name": "by_name",
    "total_spent": "by_total_spent",
    "orders_count": "by_orders_count",
    "last_order_at": "by_last_order",
    "last_seen_at": "by_last_seen",
}


@dataclass(frozen=True)
class Source:
    """One way to read: a Query on the table or an index, and what it serves."""

    key_condition: str
    values: dict[str, Any]
    index: str | None = None
    forward: bool = False
    # Items are memberships (tags, search entries) naming a customer, not customers.
    members: bool = False
    served: frozenset[str] = frozenset()

    def request(self, limit: int) -> dict[str, Any]:
        request: dict[str, Any] = {
            "KeyConditionExpression": self.key_condition,
            "ExpressionAttributeValues": self.values,
            "ScanIndexForward": self.forward,
            "Limit": limit,
        }
        if self.index:
            request["IndexName"] = self.index
        return request

    def position_of(self, item: dict[str, Any]) -> dict[str, Any]:
        """The key to continue after `item` (ExclusiveStartKey)."""
        names = {"pk", "sk", *INDEX_KEYS[self.index]}
        return {name: item[name] for name in names}

    def moved(self, position: dict[str, Any]) -> dict[str, Any]:
        """The same place in this source's partition (another shard of the same list)."""
        hash_name = self.key_condition.split(" ", 1)[0]
        hash_value = self.values.get(":pk", self.values.get(":h"))
        return {**position, hash_name: hash_value}

    def moved_into(self, position: dict[str, Any]) -> dict[str, Any]:
        """A position taken in another lane (a shard, or the first layout's list while the
        store is re-keyed), as this source's start key: the same place in its order."""
        names = {"pk", "sk", *INDEX_KEYS[self.index]}
        hash_name = self.key_condition.split(" ", 1)[0]
        hash_value = self.values.get(":pk", self.values.get(":h"))
        return {**{n: v for n, v in position.items() if n in names}, hash_name: hash_value}

    def order_of(self, item: dict[str, Any]) -> Any:
        """The value this source is ordered by (its sort key), comparable across shards."""
        value = item[INDEX_KEYS[self.index][1]]
        return Decimal(value["N"]) if "N" in value else value["S"]


@dataclass(frozen=True)
class Plan:
    sources: tuple[Source, ...]
    sort: str
    # Several lists of customers merged on customer id, each customer once (any of several
    # tags); otherwise several sources are the shards of one list, merged on its sort key.
    by_id: bool = False
    # The store is being re-keyed: the sources include the first layout's list (a lane like a
    # shard's), or, for an order index the first layout's items are not on, `in_memory`.
    migrating: bool = False
    in_memory: bool = False

    @property
    def served(self) -> frozenset[str]:
        return self.sources[0].served


@dataclass
class SearchPage:
    customers: list[Customer]
    position: dict[str, Any] | None
    sort: str
    examined: int = 0
    reads: int = field(default=0)


def _created_bounds(flt: CustomerFilter) -> tuple[str, str] | None:
    """Customer ids are ULIDs, which start with their creation time: a date range is a key range."""
    if flt.created_from is None and flt.created_to is None:
        return None
    low = "0" * 26
    high = "Z" * 26
    if flt.created_from is not None and flt.created_from > _EPOCH:
        low = str(ULID.from_datetime(flt.created_from))[:10] + "0" * 16
    if flt.created_to is not None:
        # Before 1970 no id exists: an empty range ("1" sorts after "0...").
        high = str(ULID.from_datetime(max(flt.created_to, _EPOCH)))[:10] + "Z" * 16
    # A reversed range matches nothing (DynamoDB refuses a reversed BETWEEN): one id at most.
    low = min(low, high)
    return keys.customer_sk(low), keys.customer_sk(high)


def _newest_first(
    hash_name: str, hash_value: str, flt: CustomerFilter, *, forward: bool, **kwargs: Any
) -> Source:
    """A partition of customers keyed by CUSTOMER#<id>: newest first, a created range served."""
    bounds = _created_bounds(flt)
    values: dict[str, Any] = {":h": {"S": hash_value}}
    if bounds:
        condition = f"{hash_name} = :h AND sk BETWEEN :lo AND :hi"
        values |= {":lo": {"S": bounds[0]}, ":hi": {"S": bounds[1]}}
        served = {"created_from", "created_to"}
    else:
        condition = f"{hash_name} = :h AND begins_with(sk, :customer)"
        values[":customer"] = {"S": keys.CUSTOMER_PREFIX}
        served = set()
    given = kwargs.pop("served", frozenset())
    return Source(condition, values, forward=forward, served=frozenset(served | given), **kwargs)


def _range(
    attribute: str, low: Any, high: Any, *, kind: str, low_exclusive: bool = False
) -> tuple[str, dict[str, Any]]:
    """`list_key = :pk` and the sort key between low and high (either may be None)."""
    values: dict[str, Any] = {}
    if low is not None:
        values[":lo"] = {kind: str(low)}
    if high is not None:
        values[":hi"] = {kind: str(high)}
    if low is not None and high is not None:
        return f"list_key = :pk AND {attribute} BETWEEN :lo AND :hi", values
    if low is not None:
        return f"list_key = :pk AND {attribute} {'>' if low_exclusive else '>='} :lo", values
    if high is not None:
        return f"list_key = :pk AND {attribute} <= :hi", values
    return "list_key = :pk", values


def _before(value: Any) -> str:
    """The largest stamp strictly before `value` (key conditions have no `<` with BETWEEN)."""
    return keys.stamp(value)[:-1] + "\x00"


def _sorted_sources(
    store_id: str, shards: int, flt: CustomerFilter, attribute: str, forward: bool
) -> tuple[Source, ...]:
    """An order index, with the filters on its own attribute as the key range."""
    index = SORT_INDEXES[attribute]
    low: Any = None
    high: Any = None
    kind = "S"
    served: set[str] = set()
    if attribute == "total_spent":
        kind, low, high = "N", flt.spent_min, flt.spent_max
        served = {"spent_min", "spent_max"}
    elif attribute == "orders_count":
        kind, low, high = "N", flt.orders_min, flt.orders_max
        served = {"orders_min", "orders_max"}
        if flt.never_ordered:  # the other bounds stay to be checked on what is read
            low = high = 0
            served = {"never_ordered"}
    elif attribute == "last_order_at":
        low = keys.stamp(flt.last_order_after) if flt.last_order_after else None
        # "0" (never ordered) sorts before every date: "no order since" includes them.
        high = _before(flt.last_order_before) if flt.last_order_before else None
        served = {"last_order_after", "last_order_before"}
    elif attribute == "last_seen_at":
        lows = [flt.last_seen_from] + ([flt.active_cutoff()] if flt.status == "active" else [])
        highs = [flt.last_seen_to] + ([flt.active_cutoff()] if flt.status == "inactive" else [])
        low_at = max((v for v in lows if v is not None), default=None)
        high_at = min((v for v in highs if v is not None), default=None)
        low = keys.stamp(low_at) if low_at else None
        high = (
            _before(high_at)
            if flt.status == "inactive" and high_at == flt.active_cutoff()
            else (keys.stamp(high_at) if high_at else None)
        )
        served = {"last_seen_from", "last_seen_to", "status"}
    condition, values = _range(INDEX_KEYS[index][1], low, high, kind=kind)
    return tuple(
        Source(
            condition,
            {**values, ":pk": {"S": keys.list_pk(store_id, shard)}},
            index=index,
            forward=forward,
            served=frozenset(served),
        )
        for shard in range(shards)
    )


def _tag_sources(
    store: CustomerStore,
    store_id: str,
    shards: int,
    flt: CustomerFilter,
    *,
    forward: bool,
    migrating: bool,
) -> tuple[list[Source], int]:
    """Tag memberships: any of several tags reads each; all of them reads the rarest. The
    sources, and how many tags they read."""
    tags = list(flt.tags)
    if flt.tag_mode == "all" and len(tags) > 1:
        counts = dict(store.tag_counts(store_id))
        tags = [min(tags, key=lambda t: counts.get(t, 0))]
    served = {"tags", "tag_mode"} if len(flt.tags) == 1 or flt.tag_mode == "any" else set()
    pks = [
        pk
        for tag in tags
        for pk in [
            *(keys.tag_pk(store_id, tag, shard) for shard in range(shards)),
            *([keys.first_layout_tag_pk(store_id, tag)] if migrating else []),
        ]
    ]
    sources = [
        _newest_first("pk", pk, flt, forward=forward, members=True, served=served) for pk in pks
    ]
    return sources, len(tags)


_FACETS = (
    ("favorite", "by_favorite", "favorite_key"),
    ("email_consent", "by_email_consent", "email_consent_key"),
    ("sms_consent", "by_sms_consent", "sms_consent_key"),
    ("city", "by_city", "city_key"),
    ("country", "by_country", "country_key"),
)
_RANGE_FILTERS = (
    (("spent_min", "spent_max"), "total_spent"),
    (("orders_min", "orders_max", "never_ordered"), "orders_count"),
    (("last_order_after", "last_order_before"), "last_order_at"),
    (("last_seen_from", "last_seen_to", "status"), "last_seen_at"),
)


def _facet_value(name: str, value: Any) -> str | None:
    """The value part of an equality index's hash key (keys.facet_pk)."""
    if name == "favorite":
        return FAVORITE if value is True else None
    if name == "city":
        return fold(value)
    return str(value)


def plan(store: CustomerStore, store_id: str, flt: CustomerFilter, sort: str | None) -> Plan:
    """The cheapest way this module knows to read what the filter and sort ask for."""
    given = flt.given()
    order = (sort or "").lstrip("-")
    descending = (sort or "-").startswith("-")
    shards = store.shards(store_id)
    migrating = store.migrating(store_id)
    if flt.q:
        if sort:
            raise InvalidField("sort", "a search (q) is ordered by how the customers match")
        prefix = _search(flt.q).prefix
        pks = [keys.search_pk(store_id, shard) for shard in range(shards)]
        pks += [keys.first_layout_search_pk(store_id)] if migrating else []
        sources = tuple(
            Source(
                "pk = :pk AND begins_with(sk, :prefix)",
                {":pk": {"S": pk}, ":prefix": {"S": prefix}},
                forward=True,
                members=True,
                served=frozenset({"q"}),
            )
            for pk in pks
        )
        return Plan(sources, "match", migrating=migrating)
    if order and order != "created_at":
        sources = _sorted_sources(store_id, shards, flt, order, not descending)
        return Plan(sources, sort or order, migrating=migrating, in_memory=migrating)
    if flt.tags and (descending or len(flt.tags) == 1 or flt.tag_mode == "all"):
        tag_sources, tags = _tag_sources(
            store, store_id, shards, flt, forward=not descending, migrating=migrating
        )
        by_id = tags > 1  # any of several tags
        return Plan(tuple(tag_sources), sort or "-created_at", by_id=by_id, migrating=migrating)
    for name, index, attribute in _FACETS:
        value = given.get(name)
        facet = _facet_value(name, value) if value is not None else None
        if facet is not None:
            pks = [keys.facet_pk(store_id, shard, facet) for shard in range(shards)]
            pks += [keys.first_layout_facet_pk(store_id, facet)] if migrating else []
            sources = tuple(
                _newest_first(
                    attribute, pk, flt, forward=not descending, index=index, served={name}
                )
                for pk in pks
            )
            return Plan(sources, sort or "-created_at", migrating=migrating)
    if not sort:
        for names, attribute in _RANGE_FILTERS:
            if any(name in given for name in names):
                sources = _sorted_sources(store_id, shards, flt, attribute, True)
                return Plan(sources, attribute, migrating=migrating, in_memory=migrating)
    return Plan(
        _plain_sources(store_id, shards, flt, forward=not descending, migrating=migrating),
        sort or "-created_at",
        migrating=migrating,
    )


def _plain_sources(
    store_id: str, shards: int, flt: CustomerFilter, *, forward: bool, migrating: bool
) -> tuple[Source, ...]:
    """Every customer of the store, by id (index `by_created`, keys only: the customers are
    read from the table); while it is re-keyed, also the first layout's partition of them."""
    sources = [
        _newest_first(
            "list_key",
            keys.list_pk(store_id, shard),
            flt,
            forward=forward,
            index="by_created",
            members=True,
        )
        for shard in range(shards)
    ]
    if migrating:
        sources.append(_newest_first("pk", keys.store_pk(store_id), flt, forward=forward))
    return tuple(sources)


def _residual(flt: CustomerFilter, plan: Plan) -> bool:
    return bool(set(flt.given()) - plan.served)


def _resolved(
    store: CustomerStore, store_id: str, source: Source, items: list[dict[str, Any]], chunk: int
) -> Iterator[tuple[dict[str, Any], Customer | None]]:
    """Each item with its customer; memberships fetch their customers `chunk` at a time, only
    as far as the page needs them."""
    if not source.members:
        yield from ((item, from_item(item)) for item in items)
        return
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        found = store.get_many(store_id, [_member_id(item) for item in part])
        yield from ((item, found.get(_member_id(item))) for item in part)


def _search(q: str) -> SearchQuery:
    """The search `q` asks for; InvalidField when it cannot find anything (no empty prefix
    ever reaches DynamoDB, which refuses one)."""
    try:
        return search_query(q)
    except ValueError as error:
        raise InvalidField("q", str(error)) from None


def _first_match(entry: dict[str, Any], customer: Customer, query: SearchQuery) -> bool:
    """Whether this search entry is the first of the customer's entries the query matches.

    A customer can match by several entries (name and e-mail both start with "jo", or a
    name from two of its words): it is listed once, at the first, so no page repeats a
    customer another page showed. An entry the query does not match (a national form read
    for a `+` query) is never that one.
    """
    token = str(entry["sk"]["S"]).rsplit(TOKEN_SEPARATOR, 1)[0]
    return token == min(matching_tokens(customer, query), default=None)


def _member_id(item: dict[str, Any]) -> str:
    if "customer_id" in item:
        return str(item["customer_id"]["S"])
    return str(item["sk"]["S"]).removeprefix(keys.CUSTOMER_PREFIX)


def find(
    store: CustomerStore,
    store_id: str,
    flt: CustomerFilter,
    *,
    sort: str | None,
    limit: int,
    position: dict[str, Any] | None,
) -> SearchPage:
    """One page of the customers matching `flt`, and the position to continue from."""
    chosen = plan(store, store_id, flt, sort)
    if chosen.in_memory:
        return _find_in_memory(store, store_id, flt, chosen=chosen, limit=limit, position=position)
    if chosen.by_id:
        return _find_merged(store, store_id, flt, chosen=chosen, limit=limit, position=position)
    if len(chosen.sources) > 1:
        return _find_sharded(store, store_id, flt, chosen=chosen, limit=limit, position=position)
    source = chosen.sources[0]
    exact = not _residual(flt, chosen)
    start = (position or {}).get("key")
    page = SearchPage([], None, chosen.sort)
    seen: set[str] = set()
    searching = _search(flt.q) if flt.q else None
    while True:
        request = source.request(limit + 1 if exact else PAGE_OF_READS)
        if start:
            request["ExclusiveStartKey"] = start
        response = store.query(request)
        page.reads += 1
        items = response.get("Items", [])
        for index, (item, customer) in enumerate(
            _resolved(store, store_id, source, items, max(limit, 25))
        ):
            page.examined += 1
            if customer is None or customer.id in seen or not flt.matches(customer):
                continue
            if searching and not _first_match(item, customer, searching):
                continue  # listed where its first matching entry sorts
            seen.add(customer.id)
            page.customers.append(customer)
            if len(page.customers) == limit:
                more = index < len(items) - 1 or "LastEvaluatedKey" in response
                page.position = {"key": source.position_of(item)} if more else None
                return page
        start = response.get("LastEvaluatedKey")
        if not start:
            return page
        if page.examined >= READ_BUDGET:
            page.position = {"key": start}
            return page


@dataclass
class _Lane:
    """One shard's source in a k-way merge: what was read and not yet taken, and where the
    shard stands (`start`: before any read; "end": nothing more)."""

    source: Source
    start: Any
    buffer: list[tuple[dict[str, Any], Customer | None]] = field(default_factory=list)
    taken: dict[str, Any] | None = None
    more: bool = True

    def __post_init__(self) -> None:
        self.more = self.start != "end"
        self.next = None if self.start == "end" else self.start

    def fill(self, store: CustomerStore, store_id: str, batch: int, page: SearchPage) -> None:
        while not self.buffer and self.more:
            request = self.source.request(batch)
            if self.next:
                request["ExclusiveStartKey"] = self.next
            response = store.query(request)
            page.reads += 1
            items = response.get("Items", [])
            self.buffer = list(_resolved(store, store_id, self.source, items, len(items) or 1))
            self.next = response.get("LastEvaluatedKey")
            self.more = bool(self.next)

    def position(self) -> Any:
        if not self.buffer and not self.more:
            return "end"
        return self.taken if self.taken is not None else self.start


def _find_sharded(
    store: CustomerStore,
    store_id: str,
    flt: CustomerFilter,
    *,
    chosen: Plan,
    limit: int,
    position: dict[str, Any] | None,
) -> SearchPage:
    """The shards of one list merged in its exact order: each round takes the first item of
    every shard's buffer (ties to the lower shard), so the page is what one partition holding
    every shard would give. The position names where each shard stands."""
    starts = list((position or {}).get("shards") or [])
    if not starts and position and position.get("key"):
        # A cursor from before the store grew: every shard goes on from the same place.
        starts = [source.moved(position["key"]) for source in chosen.sources]
    starts += [None] * (len(chosen.sources) - len(starts))
    lanes = [_Lane(source, start) for source, start in zip(chosen.sources, starts, strict=False)]
    forward = chosen.sources[0].forward
    batch = limit + 1 if not _residual(flt, chosen) else PAGE_OF_READS
    page = SearchPage([], None, chosen.sort)
    seen: set[str] = set()
    searching = _search(flt.q) if flt.q else None

    def rank(number: int) -> tuple[Any, int]:
        order = lanes[number].source.order_of(lanes[number].buffer[0][0])
        return (order, -number) if not forward else (order, number)

    while True:
        for lane in lanes:
            lane.fill(store, store_id, batch, page)
        live = [number for number, lane in enumerate(lanes) if lane.buffer]
        if not live:
            return page
        number = min(live, key=rank) if forward else max(live, key=rank)
        lane = lanes[number]
        item, customer = lane.buffer.pop(0)
        lane.taken = lane.source.position_of(item)
        page.examined += 1
        taken = (
            customer is not None
            and customer.id not in seen
            and flt.matches(customer)
            and (searching is None or _first_match(item, customer, searching))
        )
        if taken:
            assert customer is not None
            seen.add(customer.id)
            page.customers.append(customer)
        full = len(page.customers) == limit
        if full or page.examined >= READ_BUDGET:
            more = any(lane.buffer or lane.more for lane in lanes)
            if chosen.migrating and more:
                # Every lane goes on after the last item taken: a customer moved from the
                # first layout's lane into a shard's since is then neither missed nor repeated
                # (the merge took everything before it, in every lane).
                assert lane.taken is not None
                last = lane.taken
                page.position = {"shards": [ln.source.moved_into(last) for ln in lanes]}
            elif more:
                page.position = {"shards": [lane.position() for lane in lanes]}
            return page


def _order_value(customer: Customer, order: str) -> tuple[str, str]:
    """What an order index sorts the customer by, as its item holds it: (kind, value)."""
    if order == "name":
        return "S", name_key(customer)
    if order in ("total_spent", "orders_count"):
        return "N", str(getattr(customer, order))
    value = getattr(customer, order)
    return "S", keys.stamp(value) if value else "0"


def _comparable(kind: str, value: str) -> Any:
    return Decimal(value) if kind == "N" else value


def _find_in_memory(
    store: CustomerStore,
    store_id: str,
    flt: CustomerFilter,
    *,
    chosen: Plan,
    limit: int,
    position: dict[str, Any] | None,
) -> SearchPage:
    """An order index's page while the store is re-keyed: the first layout's customers are on
    no order index, so every customer is read (the store's list, both layouts), matched and
    sorted here; the position is the last one's sort value and id. Exact, at the price of
    reading the store for each page, only until the job is done."""
    order = chosen.sort.lstrip("-")
    descending = chosen.sort.startswith("-")
    lanes = _plain_sources(store_id, store.shards(store_id), flt, forward=False, migrating=True)
    everyone = Plan(lanes, "-created_at", migrating=True)
    page = SearchPage([], None, chosen.sort)
    found: list[tuple[Any, str, Customer]] = []
    at: dict[str, Any] | None = None
    while True:
        part = _find_sharded(store, store_id, flt, chosen=everyone, limit=200, position=at)
        page.reads += part.reads
        page.examined += part.examined
        for customer in part.customers:
            kind, value = _order_value(customer, order)
            found.append((_comparable(kind, value), customer.id, customer))
        if part.position is None:
            break
        at = part.position
    found.sort(key=lambda row: (row[0], row[1]), reverse=descending)
    after = (position or {}).get("after")
    if after:
        mark = (_comparable(after[0], after[1]), after[2])
        found = [row for row in found if ((row[0], row[1]) < mark) == descending]
        found = [row for row in found if (row[0], row[1]) != mark]
    page.customers = [row[2] for row in found[:limit]]
    if len(found) > limit:
        last = page.customers[-1]
        page.position = {"after": [*_order_value(last, order), last.id]}
    return page


def _find_merged(
    store: CustomerStore,
    store_id: str,
    flt: CustomerFilter,
    *,
    chosen: Plan,
    limit: int,
    position: dict[str, Any] | None,
) -> SearchPage:
    """Several tag memberships, newest first, each customer once: a merge on customer id.

    Each round reads a page of every tag's list; the ids down to the highest last id of a
    list that has more are complete, and are fetched a page's worth at a time.
    """
    after = (position or {}).get("after")
    page = SearchPage([], None, chosen.sort)
    exact = not _residual(flt, chosen)
    while True:
        ids: set[str] = set()
        frontier: str | None = None  # ids at or above it are complete across every source
        for source in chosen.sources:
            request = source.request(limit + 1 if exact else PAGE_OF_READS)
            if after:
                pk = source.values[":h"]["S"]
                request["ExclusiveStartKey"] = {
                    "pk": {"S": pk},
                    "sk": {"S": keys.customer_sk(after)},
                }
            response = store.query(request)
            page.reads += 1
            batch = [_member_id(item) for item in response.get("Items", [])]
            ids.update(batch)
            if "LastEvaluatedKey" in response and batch:
                frontier = max(frontier or batch[-1], batch[-1])
        candidates = sorted((i for i in ids if frontier is None or i >= frontier), reverse=True)
        for start in range(0, len(candidates), limit):
            chunk = candidates[start : start + limit]
            found = store.get_many(store_id, chunk)
            page.reads += 1
            for cid in chunk:
                page.examined += 1
                customer = found.get(cid)
                if customer is None or not flt.matches(customer):
                    continue
                page.customers.append(customer)
                if len(page.customers) == limit:
                    last = cid == candidates[-1] and frontier is None
                    page.position = None if last else {"after": cid}
                    return page
        if frontier is None or not candidates:
            return page
        after = candidates[-1]
        if page.examined >= READ_BUDGET:
            page.position = {"after": after}
            return page


def iterate(store: CustomerStore, store_id: str, flt: CustomerFilter) -> Iterator[Customer]:
    """Every matching customer, a page at a time (bulk jobs, counts)."""
    position: dict[str, Any] | None = None
    while True:
        page = find(store, store_id, flt, sort=None, limit=200, position=position)
        yield from page.customers
        if page.position is None:
            return
        position = page.position


COUNTERS = "counters"  # read from the counters the writes keep: one small read per shard
QUERY = "query"  # read as a listing reads: every matching customer, a page at a time


def counted_by(flt: CustomerFilter) -> tuple[list[str], tuple[str, ...], str | None] | None:
    """The counters that give this filter's count exactly, (counters, minus, tag), or None.

    The whole store, one tag, and one equality whose values are counted (country, favorite,
    email and SMS consent state). Anything else (a city, a range, `status`, which moves with
    time, two filters together) is counted by reading."""
    given = flt.given()
    if not given:
        return ["customers"], (), None
    if set(given) <= {"tags", "tag_mode"} and len(flt.tags) == 1:
        return [], (), flt.tags[0]
    if len(given) != 1:
        return None
    ((name, value),) = given.items()
    if name == "favorite":
        return (["favorite"], (), None) if value else (["customers"], ("favorite",), None)
    if name in ("country", "email_consent", "sms_consent"):
        return [counter_name(name, value)], (), None
    return None


def count_with_source(store: CustomerStore, store_id: str, flt: CustomerFilter) -> tuple[int, str]:
    """How many customers match, and how it was counted (COUNTERS or QUERY)."""
    counters = counted_by(flt)
    # While the store is re-keyed, the counters count only the customers moved so far.
    if counters is not None and not store.migrating(store_id):
        names, minus, tag = counters
        return store.count(store_id, names, minus=minus, tag=tag), COUNTERS
    return count(store, store_id, flt, counters=False), QUERY


def count(
    store: CustomerStore, store_id: str, flt: CustomerFilter, *, counters: bool = True
) -> int:
    """How many customers match: from the counters when they serve the filter, otherwise it
    reads what the plan reads for every page, without the items when the index serves every
    filter (Select COUNT)."""
    if counters and counted_by(flt) is not None:
        return count_with_source(store, store_id, flt)[0]
    chosen = plan(store, store_id, flt, None)
    if (
        not chosen.by_id
        and not chosen.in_memory
        # Table memberships (tags, search entries) may name a customer twice; an index never.
        and not any(source.members and source.index is None for source in chosen.sources)
        and not _residual(flt, chosen)
    ):
        total = 0
        for source in chosen.sources:
            request = source.request(10_000)
            request["Select"] = "COUNT"
            while True:
                response = store.query(request)
                total += int(response.get("Count", 0))
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return total
    return sum(1 for _ in iterate(store, store_id, flt))
