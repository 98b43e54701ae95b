"""Rules of a run, with no AWS: naming a run, when a wait ends, quiet hours, smart sending and
the customer filter.

Times are always the run's own "now" (the trigger's time, then the time the clock resumed it),
never the machine's: the same decision gives the same answer when redelivered, and the local
stack's clock drives every wait.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.automation.flows.rules import CustomerFilter, Schedule, TimeOfDay

# Countries spanning several zones: the zone most of their people live in (zone.tab lists the
# country's zones in no such order).
_MAIN_ZONE = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "ES": "Europe/Madrid",
    "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty",
    "MX": "America/Mexico_City",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "US": "America/New_York",
}


@functools.cache
def _zone_table() -> dict[str, str]:
    """The first zone tzdata lists for each country (zone.tab)."""
    table: dict[str, str] = {}
    text = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coordinates, zone = line.split("\t")[:3]
        table.setdefault(country, zone)
    return table


def zone_for(country: str | None, store_zone: str | None, default: str = "UTC") -> ZoneInfo:
    """The customer's zone from their country, else the store's, else `default`."""
    for name in (
        _MAIN_ZONE.get(country or "") or _zone_table().get(country or ""),
        store_zone,
        default,
    ):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name no file can have
                continue
    return ZoneInfo("UTC")


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def next_time_of_day(now: datetime, until: TimeOfDay, zone: ZoneInfo) -> datetime:
    """The first instant after `now` when it is `until.time` on one of `until.weekdays` in
    `zone` (a time skipped by a DST change moves forward with the clocks)."""
    local = now.astimezone(zone)
    target = _clock(until.time)
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        if day.weekday() not in until.weekdays:
            continue
        candidate = datetime.combine(day, target, tzinfo=zone)
        # Normalise through UTC: a wall time in a DST gap does not exist as written.
        candidate = candidate.astimezone(UTC).astimezone(zone)
        if candidate > local:
            return candidate.astimezone(UTC)
    raise ValueError("no weekday given")  # unreachable for a validated definition


def latest_occurrence(
    schedule: Schedule, zone: ZoneInfo, since: datetime, now: datetime
) -> datetime | None:
    """The latest occurrence of a flow's schedule in (`since`, `now`], if any: once `at`, or the
    local `time` on one of `weekdays` in `zone`. Only the latest: a clock that fell behind fires
    a schedule once, not once per occurrence missed."""
    if schedule.at is not None:
        return schedule.at.astimezone(UTC) if since < schedule.at <= now else None
    assert schedule.time is not None
    target = _clock(schedule.time)
    local = now.astimezone(zone)
    for days in range(8):  # a week back always meets every weekday
        day = (local - timedelta(days=days)).date()
        candidate = datetime.combine(day, target, tzinfo=zone).astimezone(UTC)
        if candidate <= since:
            return None
        if day.weekday() in schedule.weekdays and candidate <= now:
            return candidate
    return None


def occurrence_id(at: datetime) -> str:
    """A scheduled occurrence's id in paths: its UTC instant, compact (`20261201T130000Z`)."""
    utc = at.astimezone(UTC)
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return utc.strftime("%Y%m%dT%H%M%S") + fraction + "Z"


def occurrence_at(occurrence_id: str) -> datetime | None:
    """The instant an occurrence id names; None when it names none."""
    for shape in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S.%fZ"):
        try:
            return datetime.strptime(occurrence_id, shape).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def quiet_until(
    now: datetime, quiet_start: str | None, quiet_end: str | None, zone: ZoneInfo
) -> datetime | None:
    """When the quiet hours around `now` end, or None if `now` is not in quiet hours.

    Quiet hours may wrap midnight (21:00-08:00). Sends are deferred to their end, never
    dropped.
    """
    if not quiet_start or not quiet_end or quiet_start == quiet_end:
        return None
    local = now.astimezone(zone)
    start, end = _clock(quiet_start), _clock(quiet_end)
    current = local.timetz().replace(tzinfo=None)
    wraps = start > end
    inside = (start <= current or current < end) if wraps else (start <= current < end)
    if not inside:
        return None
    end_day = local.date()
    if wraps and current >= start:
        end_day += timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def smart_sending_allows(last_sent: datetime | None, now: datetime, hours: int) -> bool:
    """At most one marketing e-mail per customer per `hours`, across flows."""
    return last_sent is None or now - last_sent >= timedelta(hours=hours)


def run_id(store_id: str, flow_id: str, customer_id: str, trigger_object: str) -> str:
    """The execution name of the run of (flow, customer, trigger object): the same inputs always
    give the same name, so starting a run twice starts it once. Step Functions names are at most
    80 characters of [A-Za-z0-9-_]: a digest of the parts."""
    digest = hashlib.sha256(
        "\x1f".join((store_id, flow_id, customer_id, trigger_object)).encode()
    ).hexdigest()
    return f"run-{digest[:60]}"


def shard_of(key: str, shards: int) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % shards


@dataclass(frozen=True)
class Customer:
    """What a run knows of a customer when it decides (from the contacts read model)."""

    customer_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    language: str | None
    country: str | None
    tags: frozenset[str]
    email_consent: str
    # What the filters of GET /customers read besides (the contact's; unknown aggregates count
    # as none, as a customer without orders has).
    favorite: bool = False
    city: str | None = None
    sms_consent: str = "never_asked"
    created_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_order_at: datetime | None = None
    orders_count: int = 0
    total_spent: Decimal = Decimal(0)
    rating_average: Decimal | None = None


@dataclass(frozen=True)
class _State:
    state: str


@dataclass(frozen=True)
class _Filterable:
    """A run's customer as `clientela.customer_filter` reads one."""

    customer: Customer

    @property
    def tags(self) -> frozenset[str]:
        return self.customer.tags

    @property
    def favorite(self) -> bool:
        return self.customer.favorite

    @property
    def email_consent(self) -> _State:
        return _State(self.customer.email_consent)

    @property
    def sms_consent(self) -> _State:
        return _State(self.customer.sms_consent)

    @property
    def country(self) -> str | None:
        return self.customer.country

    @property
    def city(self) -> str | None:
        return self.customer.city

    @property
    def created_at(self) -> datetime:
        # Contacts kept before the sign-up time was carried: never inside a sign-up range.
        return self.customer.created_at or datetime.min.replace(tzinfo=UTC)

    @property
    def last_seen_at(self) -> datetime | None:
        return self.customer.last_seen_at

    @property
    def last_order_at(self) -> datetime | None:
        return self.customer.last_order_at

    @property
    def orders_count(self) -> int:
        return self.customer.orders_count

    @property
    def total_spent(self) -> Decimal:
        return self.customer.total_spent

    @property
    def rating_average(self) -> Decimal | None:
        return self.customer.rating_average


def filter_allows(
    customer_filter: CustomerFilter | None, customer: Customer, now: datetime | None = None
) -> bool:
    """Whether the customer passes the filter at `now` (the run's time: `status` reads it)."""
    if customer_filter is None:
        return True
    f = customer_filter
    tags = customer.tags
    return (
        (not f.tags_any or bool(tags & set(f.tags_any)))
        and set(f.tags_all) <= tags
        and not (tags & set(f.tags_none))
        and (not f.email_consent or customer.email_consent in f.email_consent)
        and (not f.countries or customer.country in f.countries)
        and (not f.languages or (customer.language or "") in f.languages)
        # Callers without a run's time (none today) read the status as of now.
        and f.shared(now or datetime.now(UTC)).matches(_Filterable(customer))
    )


def reentry_allows(
    policy: str, days: int | None, entered_at: datetime | None, now: datetime
) -> bool:
    """Whether a customer whose last run of the flow entered at `entered_at` may enter again."""
    if entered_at is None:
        return True
    if policy == "never":
        return False
    return now - entered_at >= timedelta(days=days or 0)


# Date triggers -----------------------------------------------------------------------------

DATE_SHARDS = 16


def date_key(date_property: str, value: date) -> str:
    """Where a customer's date files them: a birthday by month-day (every year), sign-up and
    last order by their day."""
    return value.strftime("%m-%d") if date_property == "birthday" else value.isoformat()


def due_date_keys(date_property: str, today: date, days_after: int) -> list[str]:
    """The index keys whose customers are due today, N days after their date. A 29 February
    birthday is kept on the 28th in a year without one."""
    target = today - timedelta(days=days_after)
    keys = [date_key(date_property, target)]
    if keys == ["02-28"] and date_property == "birthday" and not calendar.isleap(target.year):
        keys.append("02-29")
    return keys


def occasion(date_property: str, today: date, days_after: int) -> str:
    """The trigger object of a date run: one run per flow, customer and occasion (a birthday
    each year, the sign-up once, each last order)."""
    target = today - timedelta(days=days_after)
    if date_property == "birthday":
        return f"birthday:{target.year}"
    if date_property == "signed_up_at":
        return "signed_up"
    return f"last_order:{target.isoformat()}"
