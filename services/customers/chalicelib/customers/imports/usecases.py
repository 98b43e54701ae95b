"""Planning (preview) and applying (commit) the chunks of an import, one chunk per event.

The exports service reads the file and sends it chunk by chunk; this service alone matches rows
to its customers and writes them. A chunk's plan is kept until the commit, which applies exactly
that plan, re-checking each row whose customer changed since (the report says which moved).
Every step is safe to redeliver: the plan is kept once, a created customer's id is derived from
the import and the row (a second attempt finds it instead of creating another), and what a
chunk's commit did is recorded once and answered again.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ulid import ULID

from chalicelib.customers.errors import (
    CustomerError,
    CustomerNotFound,
    EmailAlreadyUsed,
    InvalidField,
)
from chalicelib.customers.imports import rules
from chalicelib.customers.imports.rules import Issue, RowInput
from chalicelib.customers.imports.store import ImportStore, Plan, PlannedRow
from chalicelib.customers.privacy import rules as privacy
from chalicelib.customers.privacy.usecases import is_erased, tombstone_key, tombstone_store
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.usecases import Precondition, change_customer, customer_store
from chalicelib.customers.settings import settings
from clientela import aws

ERASED = "this person's data was erased on request: an import may not bring it back"
COUNTED = ("create", "update", "unchanged", "refused", "repeated")


def import_store() -> ImportStore:
    return ImportStore(aws.dynamodb(), settings().table)


@dataclass(frozen=True)
class Preview:
    counts: dict[str, int]
    issues: list[dict[str, Any]]


@dataclass(frozen=True)
class Applied:
    counts: dict[str, int]
    moved: list[dict[str, Any]]


def imported_customer_id(import_id: str, row: int) -> str:
    """The id a row's new customer gets: the same on every attempt, so a redelivered chunk finds
    the customer it created instead of creating another. It sorts at the import's time."""
    digest = hashlib.sha256(f"{import_id}:{row}".encode()).digest()[:10]
    millis = ULID.from_str(import_id).milliseconds
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + digest))


def _issue(issue: Issue) -> dict[str, Any]:
    return {k: v for k, v in asdict(issue).items() if v is not None}


def _erased(store_id: str, rows: list[RowInput]) -> set[int]:
    """The rows of people erased from the store. One batched look-up for the whole chunk (its
    tombstones are almost always absent); row by row only when one of them is there."""
    key = tombstone_key()
    digests = [
        d
        for r in rows
        for d in privacy.tombstone_digests(key, store_id, email=r.email, phone=r.phone)
    ]
    unique = sorted(set(digests))
    tombstones = tombstone_store()
    # BatchGetItem takes 100 keys a request.
    if not any(
        tombstones.any_present(store_id, unique[n : n + 100]) for n in range(0, len(unique), 100)
    ):
        return set()
    return {r.row for r in rows if is_erased(store_id, email=r.email, phone=r.phone)}


def _match(store_id: str, rows: list[RowInput]) -> dict[int, Customer]:
    """The store's customer for each row: by e-mail, then by phone."""
    owners = import_store().owners_of_emails(store_id, [r.email for r in rows if r.email])
    ids = {r.row: owners[r.email] for r in rows if r.email and r.email in owners}
    by_phone: dict[int, list[str]] = {}
    for r in rows:
        if r.row not in ids and r.phone:
            by_phone[r.row] = import_store().owners_of_phone(store_id, r.phone)
    wanted = [*ids.values(), *(cid for found in by_phone.values() for cid in found)]
    customers = customer_store().get_many(store_id, wanted)
    matched = {row: customers[cid] for row, cid in ids.items() if cid in customers}
    for r in rows:
        if r.row in by_phone:
            same = [customers[c] for c in by_phone[r.row] if c in customers]
            phone_owner = next((c for c in same if c.phone == r.phone), None)
            if phone_owner is not None:
                matched[r.row] = phone_owner
    return matched


def preview_chunk(
    store_id: str,
    import_id: str,
    chunk: int,
    options: dict[str, Any],
    rows: list[tuple[int, dict[str, str]]],
) -> Preview:
    """Plans a chunk against the store as it is; a chunk planned before answers its first plan."""
    store = import_store()
    kept = store.get_plan(store_id, import_id, chunk)
    if kept is not None:
        return Preview(kept.counts, kept.issues)
    tags, update_existing = list(options.get("tags", [])), bool(options["update_existing"])
    planned: dict[int, PlannedRow] = {}
    issues: list[Issue] = []
    valid: list[RowInput] = []
    fields_of = dict(rows)
    for number, fields in rows:
        read = rules.read_row(number, fields)
        if isinstance(read, Issue):
            issues.append(read)
            planned[number] = PlannedRow(number, "refused", {})
        else:
            valid.append(read)
    # Repeats: the file's first row of each person wins (chunks are planned in order).
    claimed = store.claims(store_id, import_id, (r.identity for r in valid))
    firsts: list[RowInput] = []
    new_claims: dict[str, int] = {}
    for r in valid:
        first = claimed.get(r.identity) or new_claims.get(r.identity)
        if first is not None and first != r.row:
            column = "email" if r.email else "phone"
            reason = f"the same {column.replace('email', 'e-mail')} as row {first}, which wins"
            issues.append(Issue(r.row, "repeated", column, reason, first))
            planned[r.row] = PlannedRow(r.row, "repeated", {})
            continue
        new_claims[r.identity] = r.row
        firsts.append(r)
    erased = _erased(store_id, firsts)
    winners: list[RowInput] = []
    for r in firsts:
        if r.row in erased:
            issues.append(Issue(r.row, "refused", "email" if r.email else "phone", ERASED))
            planned[r.row] = PlannedRow(r.row, "refused", {})
        else:
            winners.append(r)
    store.claim(store_id, import_id, {k: v for k, v in new_claims.items() if k not in claimed})
    matched = _match(store_id, winners)
    for r in winners:
        current = matched.get(r.row)
        action, issue = rules.plan_row(r, current, tags, update_existing=update_existing)
        if issue is not None:
            issues.append(issue)
        planned[r.row] = PlannedRow(
            r.row,
            action,
            fields_of[r.row] if action != "refused" else {},
            current.id if current is not None else None,
            current.version if current is not None else None,
        )
    ordered = [planned[number] for number, _ in rows]
    counts = {name: sum(1 for p in ordered if p.action == name) for name in COUNTED}
    issue_list = [_issue(i) for i in sorted(issues, key=lambda i: i.row)]
    plan = store.add_plan(
        store_id, import_id, chunk, Plan(dict(options), ordered, counts, issue_list)
    )
    return Preview(plan.counts, plan.issues)


@dataclass(frozen=True)
class _Known:
    """What a commit looks up for its chunk's `create` rows at once (batched), not row by row:
    the customers earlier attempts created, and who holds each row's e-mail or phone now."""

    created: frozenset[str]
    matched: dict[int, Customer]

    @classmethod
    def of(cls, store_id: str, import_id: str, rows: list[RowInput]) -> _Known:
        ids = [imported_customer_id(import_id, r.row) for r in rows]
        created = frozenset(customer_store().get_many(store_id, ids))
        left = [r for r, cid in zip(rows, ids, strict=True) if cid not in created]
        return cls(created, _match(store_id, left) if left else {})


def _create(  # noqa: PLR0917 - one row's inputs
    store_id: str,
    import_id: str,
    r: RowInput,
    tags: list[str],
    update_existing: bool,
    known: _Known,
) -> tuple[str, str | None]:
    """Creates the row's customer under its derived id; (what was done, why it moved)."""
    cid = imported_customer_id(import_id, r.row)
    if cid in known.created:
        return "create", None  # an earlier attempt of this chunk created it
    current = known.matched.get(r.row)
    if current is not None:
        done = _update(store_id, current.id, r, tags, update_existing)
        return done, "a customer with this e-mail or phone was added since the preview"
    try:
        customer_store().add(rules.new_customer(store_id, cid, r, tags))
    except EmailAlreadyUsed as exc:
        done = _update(store_id, exc.existing_id, r, tags, update_existing)
        return done, "a customer with this e-mail was added since the preview"
    return "create", None


def _update(
    store_id: str,
    customer_id: str,
    r: RowInput,
    tags: list[str],
    update_existing: bool,
) -> str:
    """Applies the row to the customer as it is now; 'update' or 'unchanged'."""
    changed: list[bool] = []

    def write(current: Customer) -> Customer:
        after = rules.updated_customer(current, r, tags, update_existing=update_existing)
        if after is not current:
            customer_store().replace(current, after)
        changed.append(after is not current)
        return after

    change_customer(store_id, customer_id, Precondition(), write)
    return "update" if changed[-1] else "unchanged"


def _apply_row(  # noqa: PLR0917 - one row's inputs
    store_id: str,
    import_id: str,
    p: PlannedRow,
    read: RowInput,
    options: dict[str, Any],
    known: _Known,
) -> tuple[str, str | None]:
    tags, update_existing = list(options.get("tags", [])), bool(options["update_existing"])
    if p.action == "create":
        return _create(store_id, import_id, read, tags, update_existing, known)
    assert p.customer_id is not None
    try:
        done = _update(store_id, p.customer_id, read, tags, update_existing)
    except CustomerNotFound:
        again = _Known.of(store_id, import_id, [read])
        done, _ = _create(store_id, import_id, read, tags, update_existing, again)
        return done, "the customer was deleted since the preview"
    if done == p.action:
        return done, None
    current = customer_store().get(store_id, p.customer_id)
    if done == "unchanged" and current is not None and current.version != p.version:
        # Changed since the preview: by an earlier attempt of this chunk, or by someone who made
        # the same change. Either way the row's effect is there, as planned.
        return p.action, None
    return done, "the customer changed since the preview"


def apply_chunk(store_id: str, import_id: str, chunk: int) -> Applied:
    """Applies the chunk's plan; a chunk applied before answers what it did then."""
    store = import_store()
    plan = store.get_plan(store_id, import_id, chunk)
    if plan is None:
        raise CustomerError("no plan for this chunk: preview it first")
    if plan.applied is not None:
        return Applied(plan.applied["counts"], plan.applied["moved"])
    counts = dict.fromkeys(COUNTED, 0)
    moved: list[dict[str, Any]] = []
    reads: dict[int, RowInput] = {}
    for p in plan.rows:
        if p.action not in ("refused", "repeated"):
            read = rules.read_row(p.row, p.fields)
            assert isinstance(read, RowInput)  # the same rules passed it at the preview
            reads[p.row] = read
    erased = _erased(store_id, list(reads.values()))  # since the preview, perhaps
    creates = [reads[p.row] for p in plan.rows if p.action == "create" and p.row not in erased]
    known = _Known.of(store_id, import_id, creates)
    for p in plan.rows:
        if p.action in ("refused", "repeated"):
            counts[p.action] += 1
            continue
        why: str | None
        try:
            if p.row in erased:
                done, why = "refused", ERASED
            else:
                done, why = _apply_row(store_id, import_id, p, reads[p.row], plan.options, known)
        except InvalidField as exc:
            done, why = "refused", f"{exc.field}: {exc.reason}"
        counts[done] += 1
        if why is not None and done != p.action:
            moved.append({"row": p.row, "planned": p.action, "applied": done, "reason": why})
    applied = store.mark_applied(store_id, import_id, chunk, {"counts": counts, "moved": moved})
    return Applied(applied["counts"], applied["moved"])


def event_id(import_id: str, chunk: int, step: str) -> uuid.UUID:
    """One id per chunk and step: a redelivered step publishes the same event again."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"clientela:import:{import_id}:{chunk}:{step}")


def now() -> datetime:
    return datetime.now(UTC)
