"""Import rules with no AWS: reading a row into profile values, consent, and a row's plan.

A row is validated by the same model as `POST /customers` (one definition of a valid e-mail,
phone, country...), so an import refuses exactly what the API refuses, naming the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from chalicelib.customers.errors import CustomerError, InvalidField
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles.models import CustomerCreate
from chalicelib.customers.profiles.rules import Consent, Customer

Action = Literal["create", "update", "unchanged", "refused", "repeated"]
# What a consent column may say, from our export, Shopify, Mailchimp and Klaviyo alike.
Statement = Literal["subscribed", "unsubscribed", "cleaned", "pending", "not_subscribed"]
_STATEMENTS: dict[str, Statement] = {
    "subscribed": "subscribed",
    "opted_in": "subscribed",
    "yes": "subscribed",
    "true": "subscribed",
    "1": "subscribed",
    "unsubscribed": "unsubscribed",
    "opted_out": "unsubscribed",
    "cleaned": "cleaned",
    "bounced": "cleaned",
    "suppressed": "cleaned",
    "pending": "pending",
    "no": "not_subscribed",
    "false": "not_subscribed",
    "0": "not_subscribed",
    "never_subscribed": "not_subscribed",
    "never_asked": "not_subscribed",
    "not_subscribed": "not_subscribed",
}
# Contact fields say who the customer is: an import fills them when blank, never replaces them.
IDENTITY_FIELDS = ("email", "phone")
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "city",
    "region",
    "country",
    "gender",
    "birthday",
    "language",
    "notes",
)
_TAG_SPLIT = re.compile(r"[,;]")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


@dataclass(frozen=True)
class Issue:
    row: int
    kind: Literal["refused", "repeated"]
    column: str
    reason: str
    repeats_row: int | None = None


@dataclass(frozen=True)
class ConsentStatement:
    statement: Statement
    at: datetime | None = None


@dataclass(frozen=True)
class RowInput:
    """A valid row: normalised profile values (only those given) and its consent statements."""

    row: int
    profile: dict[str, Any]
    consents: dict[str, ConsentStatement] = field(default_factory=dict)

    @property
    def email(self) -> str | None:
        return self.profile.get("email")

    @property
    def phone(self) -> str | None:
        return self.profile.get("phone")

    @property
    def identity(self) -> str:
        """What finds the customer and what makes two rows the same person: e-mail, else phone."""
        return f"email:{self.email}" if self.email else f"phone:{self.phone}"


def _statement(value: str) -> Statement | None:
    text = value.strip().lower().replace(" ", "_").replace("-", "_")
    if not text:
        return None
    statement = _STATEMENTS.get(text)
    if statement is None:
        raise ValueError("is not a consent state (subscribed, unsubscribed, cleaned, pending)")
    return statement


def parse_time(value: str) -> datetime:
    text = value.strip().removesuffix("Z").removesuffix("+00:00")
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError("is not a date and time (e.g. 2026-11-20 10:31:00, UTC)")


def split_tags(value: str) -> list[str]:
    return [t.strip().strip('"').strip() for t in _TAG_SPLIT.split(value) if t.strip().strip('"')]


def read_row(row: int, fields: dict[str, str]) -> RowInput | Issue:
    """The row's values checked and normalised, or the first column that is refused and why."""
    given = {k: v.strip() for k, v in fields.items() if v is not None and v.strip()}
    body: dict[str, Any] = {k: given[k] for k in (*IDENTITY_FIELDS, *TEXT_FIELDS) if k in given}
    if "gender" in body:
        body["gender"] = body["gender"].lower().replace(" ", "_").replace("-", "_")
    if "tags" in given:
        body["tags"] = split_tags(given["tags"])
    if "email" not in body and "phone" not in body:
        return Issue(row, "refused", "email", "no e-mail and no phone: nothing to match on")
    try:
        checked = CustomerCreate.model_validate(body)
        profile = {k: v for k, v in checked.profile().items() if k in body}
        if "phone" in profile:
            profile["phone"] = domain.normalise_phone(profile["phone"], profile.get("country"))
    except ValidationError as exc:
        error = exc.errors()[0]
        column = str(error["loc"][0]) if error["loc"] else ""
        return Issue(row, "refused", column, str(error["msg"]).removeprefix("Value error, "))
    except ValueError as exc:
        return Issue(row, "refused", "phone", str(exc))
    consents: dict[str, ConsentStatement] = {}
    for channel in domain.CONSENT_CHANNELS:
        column = f"{channel}_consent"
        try:
            statement = _statement(given.get(column, ""))
            at = parse_time(given[f"{column}_at"]) if f"{column}_at" in given else None
        except ValueError as exc:
            name = column if not given.get(f"{column}_at") else f"{column}_at"
            return Issue(row, "refused", name, str(exc))
        if statement is not None:
            consents[channel] = ConsentStatement(statement, at)
    return RowInput(row, profile, consents)


def imported_consent(current: Consent | None, said: ConsentStatement) -> Consent | None:
    """The consent record an import writes, or None when it changes nothing.

    Never upgraded implicitly: only an explicit `subscribed` subscribes, and only someone never
    asked (or pending, or new). An unsubscribe (or Mailchimp's `cleaned`) always wins, whatever
    the customer's state; a `no` in a consent column withdraws a subscription but marks nobody
    as having unsubscribed who never subscribed.
    """
    state = current.state if current is not None else "never_asked"
    if said.statement in ("unsubscribed", "cleaned"):
        wanted = "unsubscribed"
    elif said.statement == "not_subscribed":
        wanted = "unsubscribed" if state in ("subscribed", "pending") else state
    elif said.statement == "subscribed":
        wanted = "subscribed" if state in ("never_asked", "pending") else state
    else:  # pending
        wanted = "pending" if state == "never_asked" else state
    if wanted == state:
        return None
    return Consent(
        state=wanted,
        opt_in_level="single" if wanted == "subscribed" else None,
        updated_at=said.at,
        source="import",
    )


def _with_consents(customer: Customer, row: RowInput, new: bool, at: datetime) -> Customer:
    changed = customer
    for channel, said in row.consents.items():
        record = imported_consent(None if new else customer.consent(channel), said)
        if record is None:
            continue
        contact = changed.email if channel == "email" else changed.phone
        if record.state in ("subscribed", "pending") and not contact:
            continue  # nobody to write to on that channel: the subscription means nothing
        changed = domain.with_consent(changed, channel, replace(record, updated_at=said.at or at))
    return changed


def new_customer(store_id: str, customer_id: str, row: RowInput, tags: list[str]) -> Customer:
    """The customer a `create` row makes (consent records stamped with the file's time)."""
    profile = dict(row.profile)
    profile["tags"] = domain.normalise_tags([*profile.get("tags", []), *tags])
    customer = domain.new_customer(store_id, customer_id, profile)
    return _with_consents(customer, row, True, customer.created_at)


def updated_customer(
    current: Customer, row: RowInput, tags: list[str], *, update_existing: bool
) -> Customer:
    """The matched customer after the row: the same object when nothing changes.

    Contact fields are filled when blank, never replaced (the row was matched on one of them);
    blank cells change nothing. Leaving existing customers still applies an unsubscribe.
    """
    changed = current
    if update_existing:
        changes = {k: v for k, v in row.profile.items() if k not in (*IDENTITY_FIELDS, "tags")}
        for name in IDENTITY_FIELDS:
            if name in row.profile and getattr(current, name) is None:
                changes[name] = row.profile[name]
        added = [*row.profile.get("tags", []), *tags]
        if added:
            changes["tags"] = domain.normalise_tags([*current.tags, *added])
        changes = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if changes:
            changed = domain.apply_changes(current, changes)
    else:
        row = replace(
            row,
            consents={
                ch: s
                for ch, s in row.consents.items()
                if s.statement in ("unsubscribed", "cleaned", "not_subscribed")
            },
        )
    with_consent = _with_consents(changed, row, False, domain.now())
    if with_consent is current:
        return current
    if changed is current:  # only consent moved: the change still needs its own version
        return replace(with_consent, updated_at=domain.now(), version=current.version + 1)
    return with_consent


def plan_row(
    row: RowInput,
    current: Customer | None,
    tags: list[str],
    *,
    update_existing: bool,
) -> tuple[Action, Issue | None]:
    """What the row would do to the store as it is now."""
    try:
        if current is None:
            new_customer("plan", "0" * 26, row, tags)
            return "create", None
        after = updated_customer(current, row, tags, update_existing=update_existing)
    except InvalidField as exc:
        return "refused", Issue(row.row, "refused", exc.field, exc.reason)
    except CustomerError:
        return "refused", Issue(
            row.row, "refused", "email", "the customer needs an e-mail or a phone"
        )
    return ("unchanged" if after is current else "update"), None
