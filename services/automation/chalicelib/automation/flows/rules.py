"""A flow's definition and its rules, with no AWS: what a definition may say, and the full check a
flow passes before it goes live.

A flow is a trigger, an optional filter on the customer, and steps. Steps form a graph: the first
step is the entry; each names where to go next (`next`, or `then` / `else` for a condition,
`on_event` / `on_timeout` for a wait for an event); no next means the run ends there.

The definition's models are deliberately permissive (any step `type`, optional fields), so a
draft can be saved half-written; `problems_of` is the full check, naming the step of each fault,
and a flow goes live only without any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from clientela import customer_filter
from clientela.customer_filter import ACTIVE_DAYS, When, end_of, fold, start_of
from clientela.money import Amount

StepId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
EventType = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)+$")]
Tag = Annotated[str, Field(min_length=1, max_length=64)]
Code = Annotated[str, Field(min_length=1, max_length=128)]

STEP_TYPES = (
    "wait",
    "send_email",
    "condition",
    "wait_for_event",
    "add_tag",
    "remove_tag",
    "exit",
)
CONSENT_STATES = ("subscribed", "unsubscribed", "pending", "never_asked")
STATES = ("draft", "live", "paused")
MAX_WAIT = timedelta(days=365)
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Duration(_Model):
    """How long: the parts add up."""

    days: StrictInt = Field(default=0, ge=0, le=365)
    hours: StrictInt = Field(default=0, ge=0, le=10_000)
    minutes: StrictInt = Field(default=0, ge=0, le=1_000_000)

    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


class TimeOfDay(_Model):
    """Until the next `time` (HH:MM, local to the customer) on one of `weekdays` (0 = Monday)."""

    time: str = Field(description="HH:MM, 24-hour clock.")
    weekdays: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], min_length=1, max_length=7
    )


class CustomerFilter(_Model):
    """A filter on the customer, read from the contacts read model (every part must hold).

    Besides the tag, consent, country and language lists, every filter of `GET /customers` by
    its own name and meaning (`clientela.customer_filter`, the one definition both services
    check): `favorite`, `sms_consent`, `city`, `status`, the date ranges (a UTC day or a time),
    `orders_min` / `orders_max`, `spent_min` / `spent_max`, `never_ordered`, `rating_min`. Its
    text search `q` is the customers service's own index: not a flow filter.
    """

    tags_any: list[Tag] = Field(default_factory=list, max_length=50)
    tags_all: list[Tag] = Field(default_factory=list, max_length=50)
    tags_none: list[Tag] = Field(default_factory=list, max_length=50)
    email_consent: list[Literal["subscribed", "unsubscribed", "pending", "never_asked"]] = Field(
        default_factory=list
    )
    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=list, max_length=250
    )
    languages: list[Annotated[str, Field(min_length=2, max_length=16)]] = Field(
        default_factory=list, max_length=50
    )
    favorite: StrictBool | None = None
    sms_consent: Literal["subscribed", "unsubscribed", "pending", "never_asked"] | None = None
    city: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="Case and accents ignored."
    )
    status: Literal["active", "inactive"] | None = Field(
        default=None,
        description=(
            f"Active: seen in the last {ACTIVE_DAYS} days before the step (as of the customer's"
            " last profile, order or review event)."
        ),
    )
    created_from: When | None = None
    created_to: When | None = None
    last_seen_from: When | None = None
    last_seen_to: When | None = None
    orders_min: StrictInt | None = Field(default=None, ge=0, le=10**9)
    orders_max: StrictInt | None = Field(default=None, ge=0, le=10**9)
    spent_min: Amount | None = Field(
        default=None, description="Compared with `total_spent`, in the customer's own currency."
    )
    spent_max: Amount | None = None
    last_order_before: When | None = Field(
        default=None, description="No order since this date (never-ordered customers included)."
    )
    last_order_after: When | None = None
    never_ordered: StrictBool | None = None
    rating_min: Decimal | None = Field(default=None, ge=1, le=5, decimal_places=2)

    def shared(self, now: datetime) -> customer_filter.CustomerFilter:
        """The filters of GET /customers this one gives, as both services check them."""
        shared: customer_filter.CustomerFilter = customer_filter.CustomerFilter.of_parameters(
            now, **{name: getattr(self, name) for name in _SHARED}
        )
        return shared


# The filters of GET /customers a flow's filter passes on as they are (tags, consent, country
# and language it checks itself; it has no text search).
_SHARED = tuple(
    name
    for name in customer_filter.SAME_NAMED
    if name not in ("q", "tag_mode", "email_consent", "country")
)


def _filter_faults(at: str, name: str, given: CustomerFilter | None) -> list[Fault]:
    """A filter that could never hold (an empty range, a blank city)."""
    if given is None:
        return []
    faults = []
    for low, high in customer_filter.RANGES:
        a, b = getattr(given, low), getattr(given, high)
        if isinstance(a, date):
            a, b = start_of(a), end_of(b)
        if a is not None and b is not None and a > b:
            faults.append(
                Fault(f"{at}.{low}", f"{name}: {low} must not be after {high}", "range_reversed")
            )
    if given.city is not None and not any(c.isalnum() for c in fold(given.city)):
        faults.append(
            Fault(f"{at}.city", f"{name}: the city must contain a letter or a digit", "city_blank")
        )
    return faults


class Condition(_Model):
    """Either a customer filter, or "did `event` happen since the run entered" (or both)."""

    filter: CustomerFilter | None = None
    event_since_entry: EventType | None = None


class Step(_Model):
    id: StepId
    type: Annotated[str, Field(min_length=1, max_length=32)]
    next: StepId | None = None
    # wait
    duration: Duration | None = None
    until: TimeOfDay | None = None
    # send_email
    template_id: Code | None = None
    marketing: StrictBool = True
    # condition
    condition: Condition | None = None
    then: StepId | None = None
    else_: StepId | None = Field(default=None, alias="else")
    # wait_for_event
    event: EventType | None = None
    timeout: Duration | None = None
    on_event: StepId | None = None
    on_timeout: StepId | None = None
    # add_tag / remove_tag
    tags: list[Tag] | None = Field(default=None, max_length=20)

    # `else` is a Python keyword: the field is `else_`, written and read as `else`.
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True
    )

    def targets(self) -> list[str]:
        """The steps this one can lead to."""
        found = [self.next, self.then, self.else_, self.on_event, self.on_timeout]
        return [target for target in found if target is not None]


class Schedule(_Model):
    """When a scheduled flow fires: once `at` an instant, or at a local `time` (HH:MM, the
    store's time zone) on each of `weekdays` (0 = Monday; all of them: every day)."""

    at: AwareDatetime | None = None
    time: str | None = Field(default=None, description="HH:MM, 24-hour clock.")
    weekdays: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], min_length=1, max_length=7
    )


class Trigger(_Model):
    """What makes a customer enter: an event (`cart.updated`, `order.placed`, any event type),
    entering a saved segment, a date property, or a schedule."""

    type: Literal["event", "segment", "date", "schedule"]
    event: EventType | None = None
    segment_id: Code | None = None
    date_property: Literal["birthday", "signed_up_at", "last_order_at"] | None = None
    days_after: StrictInt | None = Field(default=None, ge=0, le=3650)
    schedule: Schedule | None = None


class Reentry(_Model):
    """Whether a customer who went through the flow may enter again: never, or after N days."""

    policy: Literal["never", "after"] = "never"
    days: StrictInt | None = Field(default=None, ge=1, le=3650)


class Definition(_Model):
    trigger: Trigger
    filter: CustomerFilter | None = None
    steps: list[Step] = Field(min_length=1, max_length=100)
    reentry: Reentry = Field(default_factory=Reentry)
    # A newer trigger (a newer cart) ends the customer's run in progress and starts afresh.
    supersede: StrictBool = False
    # Events that end a run at its next step (an order ends an abandoned-cart run before its
    # next send: checked when the step runs, not at entry).
    exit_on: list[EventType] = Field(default_factory=list, max_length=10)
    # One marketing e-mail per customer per N hours across flows, unless the flow opts out.
    smart_sending: StrictBool = True

    def step(self, step_id: str) -> Step | None:
        return next((step for step in self.steps if step.id == step_id), None)


@dataclass(frozen=True)
class Fault:
    """Why a definition cannot go live, at a JSON pointer into the definition."""

    field: str
    reason: str
    # A stable word for the console to say it in the owner's language (FieldError.code).
    code: str = "invalid"


# The event types a flow can name (trigger, exits, waits, "did X since entering"): the bus rule
# of the flow-events queue takes exactly these (tests/infra checks it). Automation's own
# bookkeeping (email.sent, message.sent, flow.tags_requested) is left out: each run's sends
# would come back as events that cost a flow listing, a write and a query, for nothing.
FLOW_EVENTS = (
    "cart.updated",
    "order.placed",
    "order.cancelled",
    "order.refunded",
    "product.viewed",
    "review.created",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "email.opened",
    "email.clicked",
    "email.unsubscribed",
    "message.replied",
    "credit.granted",
    "credit.spent",
    "credit.reverted",
    "credit.expiring",
    "credit.expired",
    "coupon.created",
    "coupon.redeemed",
    "coupon.reverted",
    "referral.created",
    "referral.qualified",
    "referral.flagged",
    "referral.rewarded",
    "referral.voided",
    "cashback.pending",
    "cashback.voided",
    "segment.entered",
    "segment.exited",
)


def _event_faults(definition: Definition) -> list[Fault]:
    """Events the flows queue never receives: a flow naming one would wait or check forever."""
    named = [("trigger.event", definition.trigger.event)]
    named += [(f"exit_on.{i}", event) for i, event in enumerate(definition.exit_on)]
    for index, step in enumerate(definition.steps):
        named.append((f"steps.{index}.event", step.event))
        if step.condition is not None:
            named.append(
                (f"steps.{index}.condition.event_since_entry", step.condition.event_since_entry)
            )
    return [
        Fault(field, f"Flows do not follow {event} events", "event_not_followed")
        for field, event in named
        if event is not None and event not in FLOW_EVENTS
    ]


# Triggers whose runs the service can start; any other is refused going live rather than
# accepted and never fired.
RUNNABLE_TRIGGERS = ("event", "date", "segment", "schedule")
# Saved segments' ids are ULIDs. Automation cannot read the customers' segments: it checks the
# shape only, and a trigger naming no segment of the store simply never fires.
_SEGMENT_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _trigger_faults(trigger: Trigger) -> list[Fault]:
    if trigger.type not in RUNNABLE_TRIGGERS:
        return [
            Fault(
                "trigger.type",
                f"{trigger.type} triggers are not supported yet",
                "trigger_not_supported",
            )
        ]
    if trigger.type == "event" and trigger.event is None:
        return [Fault("trigger.event", "An event trigger needs an event type", "event_required")]
    if trigger.type == "date" and trigger.date_property is None:
        return [
            Fault(
                "trigger.date_property",
                "A date trigger needs a date property",
                "date_property_required",
            )
        ]
    if trigger.type == "segment" and not _SEGMENT_ID.match(trigger.segment_id or ""):
        return [
            Fault(
                "trigger.segment_id",
                "A segment trigger needs the id of a saved segment (built-in ones do not trigger)",
                "segment_id_invalid",
            )
        ]
    if trigger.type == "schedule":
        return _schedule_faults(trigger.schedule)
    return []


def _schedule_faults(schedule: Schedule | None) -> list[Fault]:
    if schedule is None or (schedule.at is None) == (schedule.time is None):
        return [
            Fault(
                "trigger.schedule",
                "A schedule needs either `at` or a `time` of day",
                "schedule_required",
            )
        ]
    faults = []
    if schedule.time is not None and not _TIME.match(schedule.time):
        faults.append(Fault("trigger.schedule.time", "the time must be HH:MM", "time_invalid"))
    if not all(0 <= day <= 6 for day in schedule.weekdays):
        faults.append(
            Fault(
                "trigger.schedule.weekdays",
                "weekdays go from 0 (Monday) to 6 (Sunday)",
                "weekdays_out_of_range",
            )
        )
    return faults


def problems_of(definition: Definition, *, known_templates: set[str] | None = None) -> list[Fault]:
    """Every fault of a definition, each naming where it is (`steps.<i>...`) and the step id.

    `known_templates`: the template ids the store can send; None skips that check.
    """
    faults = _trigger_faults(definition.trigger)
    schedule = definition.trigger.schedule
    if (
        definition.trigger.type == "schedule"
        and schedule is not None
        and schedule.time is not None
        and definition.reentry.policy == "never"
    ):
        faults.append(
            Fault(
                "reentry.policy",
                "A recurring schedule needs re-entry after N days: with never, each customer "
                "would enter at the first occurrence only",
                "reentry_after_required",
            )
        )
    faults.extend(_event_faults(definition))
    faults.extend(_filter_faults("filter", "The flow filter", definition.filter))
    if definition.reentry.policy == "after" and definition.reentry.days is None:
        faults.append(
            Fault("reentry.days", "Re-entry after N days needs days", "reentry_days_required")
        )
    ids: dict[str, int] = {}
    for index, step in enumerate(definition.steps):
        if step.id in ids:
            faults.append(
                Fault(f"steps.{index}.id", f"Step {step.id}: the id is used twice", "step_id_twice")
            )
        ids.setdefault(step.id, index)
    for index, step in enumerate(definition.steps):
        faults.extend(_step_faults(index, step, ids, known_templates))
    reachable = _reachable(definition, ids)
    for index, step in enumerate(definition.steps):
        if step.id not in reachable and ids.get(step.id) == index:
            faults.append(
                Fault(
                    f"steps.{index}",
                    f"Step {step.id}: unreachable from the first step",
                    "step_unreachable",
                )
            )
    if _has_cycle(definition, ids):
        faults.append(
            Fault("steps", "The steps loop: a run must always reach an end", "steps_loop")
        )
    return faults


def _step_faults(
    index: int, step: Step, ids: dict[str, int], known_templates: set[str] | None
) -> list[Fault]:
    at = f"steps.{index}"
    name = f"Step {step.id}"
    faults = []

    def need(field: str, present: bool, what: str, code: str) -> None:
        if not present:
            faults.append(Fault(f"{at}.{field}", f"{name}: {what}", code))

    if step.type not in STEP_TYPES:
        return [
            Fault(f"{at}.type", f"{name}: unknown step type {step.type!r}", "step_type_unknown")
        ]
    if step.type == "wait":
        need(
            "duration",
            (step.duration is not None and step.duration.delta() > timedelta())
            or step.until is not None,
            "a wait needs a duration (or a time of day to wait until)",
            "wait_duration_required",
        )
        if step.duration is not None and step.duration.delta() > MAX_WAIT:
            faults.append(Fault(f"{at}.duration", f"{name}: at most 365 days", "wait_out_of_range"))
        if step.until is not None:
            need(
                "until.time",
                bool(_TIME.match(step.until.time)),
                "the time must be HH:MM",
                "time_invalid",
            )
            need(
                "until.weekdays",
                all(0 <= day <= 6 for day in step.until.weekdays),
                "weekdays go from 0 (Monday) to 6 (Sunday)",
                "weekdays_out_of_range",
            )
    elif step.type == "send_email":
        need(
            "template_id",
            step.template_id is not None,
            "a send needs a template_id",
            "step_template_missing",
        )
        if step.template_id is not None and known_templates is not None:
            need(
                "template_id",
                step.template_id in known_templates,
                f"no template {step.template_id!r} in this store",
                "step_template_unknown",
            )
    elif step.type == "condition":
        need(
            "condition",
            step.condition is not None
            and (step.condition.filter is not None or step.condition.event_since_entry is not None),
            "a condition needs a filter or an event",
            "condition_required",
        )
        need(
            "then",
            step.then is not None or step.else_ is not None,
            "a split needs then or else",
            "branch_required",
        )
        if step.condition is not None:
            faults.extend(_filter_faults(f"{at}.condition.filter", name, step.condition.filter))
    elif step.type == "wait_for_event":
        need(
            "event",
            step.event is not None,
            "a wait for an event needs the event type",
            "wait_event_required",
        )
        need(
            "timeout",
            step.timeout is not None and timedelta() < step.timeout.delta() <= MAX_WAIT,
            "a wait for an event needs a timeout (up to 365 days)",
            "wait_timeout_invalid",
        )
    elif step.type in ("add_tag", "remove_tag"):
        need("tags", bool(step.tags), "needs at least one tag", "tags_required")
    return faults + _link_faults(at, name, step, ids)


def _link_faults(at: str, name: str, step: Step, ids: dict[str, int]) -> list[Fault]:
    faults = []
    for field in ("next", "then", "else_", "on_event", "on_timeout"):
        target = getattr(step, field)
        if target is not None and target not in ids:
            faults.append(
                Fault(
                    f"{at}.{field.rstrip('_')}",
                    f"{name}: no step {target!r} to go to",
                    "step_target_unknown",
                )
            )
        if target is not None and target == step.id:
            faults.append(
                Fault(f"{at}.{field.rstrip('_')}", f"{name}: goes to itself", "step_goes_to_itself")
            )
    if step.type == "exit" and step.targets():
        faults.append(Fault(f"{at}.next", f"{name}: an exit goes nowhere", "exit_goes_nowhere"))
    return faults


def _reachable(definition: Definition, ids: dict[str, int]) -> set[str]:
    seen: set[str] = set()
    pending = [definition.steps[0].id]
    while pending:
        current = pending.pop()
        if current in seen or current not in ids:
            continue
        seen.add(current)
        pending.extend(definition.steps[ids[current]].targets())
    return seen


def _has_cycle(definition: Definition, ids: dict[str, int]) -> bool:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(step_id: str) -> bool:
        if step_id in done or step_id not in ids:
            return False
        if step_id in visiting:
            return True
        visiting.add(step_id)
        looped = any(visit(t) for t in definition.steps[ids[step_id]].targets())
        visiting.discard(step_id)
        done.add(step_id)
        return looped

    return any(visit(step.id) for step in definition.steps)


def template_ids(definition: Definition) -> set[str]:
    return {step.template_id for step in definition.steps if step.template_id is not None}


# Built-in flows a store activates in one call (POST /flows/templates/{name}). Each sends the
# mail engineer's built-in e-mail templates, by id (chalicelib.automation.templates).
BUILT_IN: dict[str, tuple[str, dict[str, object]]] = {
    "abandoned_cart": (
        "Abandoned cart",
        {
            "trigger": {"type": "event", "event": "cart.updated"},
            "supersede": True,
            "exit_on": ["order.placed"],
            "reentry": {"policy": "after", "days": 1},
            "steps": [
                {"id": "wait-4h", "type": "wait", "duration": {"hours": 4}, "next": "reminder"},
                {
                    "id": "reminder",
                    "type": "send_email",
                    "template_id": "builtin-abandoned-cart",
                    "next": "wait-1d",
                },
                {"id": "wait-1d", "type": "wait", "duration": {"days": 1}, "next": "second"},
                {"id": "second", "type": "send_email", "template_id": "builtin-abandoned-cart"},
            ],
        },
    ),
    "welcome": (
        "Welcome",
        {
            "trigger": {"type": "event", "event": "customer.created"},
            "filter": {"email_consent": ["subscribed"]},
            "steps": [
                {"id": "welcome", "type": "send_email", "template_id": "builtin-welcome"},
            ],
        },
    ),
    "win_back": (
        "Win-back",
        {
            # Entered 90 days after the customer's last order (a date trigger: no run waits
            # 90 days); a newer order moves the date, so a customer who orders again is not due.
            "trigger": {"type": "date", "date_property": "last_order_at", "days_after": 90},
            "reentry": {"policy": "after", "days": 1},
            "steps": [{"id": "win-back", "type": "send_email", "template_id": "builtin-win-back"}],
        },
    ),
    "post_purchase_review": (
        "Post-purchase review request",
        {
            "trigger": {"type": "event", "event": "order.placed"},
            "reentry": {"policy": "after", "days": 30},
            "steps": [
                {"id": "wait-7d", "type": "wait", "duration": {"days": 7}, "next": "review"},
                {
                    "id": "review",
                    "type": "send_email",
                    "template_id": "builtin-review-request",
                    "marketing": False,
                },
            ],
        },
    ),
    "birthday": (
        "Birthday",
        {
            "trigger": {"type": "date", "date_property": "birthday", "days_after": 0},
            "filter": {"email_consent": ["subscribed"]},
            "reentry": {"policy": "after", "days": 300},
            "steps": [{"id": "birthday", "type": "send_email", "template_id": "builtin-birthday"}],
        },
    ),
    "credit_expiring": (
        "Credit expiring",
        {
            "trigger": {"type": "event", "event": "credit.expiring"},
            "steps": [
                {
                    "id": "morning",
                    "type": "wait",
                    "until": {"time": "10:00", "weekdays": [0, 1, 2, 3, 4]},
                    "next": "reminder",
                },
                {
                    "id": "reminder",
                    "type": "send_email",
                    "template_id": "builtin-credit-expiring",
                    "marketing": False,
                },
            ],
        },
    ),
}
