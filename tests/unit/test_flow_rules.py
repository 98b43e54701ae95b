"""Flow rules with no AWS: validating a definition, when waits end (time zones, weekdays, DST),
quiet hours, smart sending, the customer filter, re-entry and run names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.automation.flows.rules import (
    BUILT_IN,
    CustomerFilter,
    Definition,
    TimeOfDay,
    problems_of,
)
from chalicelib.automation.runs.rules import (
    Customer,
    filter_allows,
    next_time_of_day,
    quiet_until,
    reentry_allows,
    run_id,
    smart_sending_allows,
    zone_for,
)


def definition(steps: list[dict[str, Any]], **extra: Any) -> Definition:
    return Definition.model_validate(
        {"trigger": {"type": "event", "event": "cart.updated"}, "steps": steps, **extra}
    )


def faults(steps: list[dict[str, Any]], **extra: Any) -> dict[str, str]:
    found = problems_of(definition(steps, **extra), known_templates={"t1"})
    return {fault.field: fault.reason for fault in found}


def test_a_valid_flow_has_no_fault() -> None:
    assert (
        faults(
            [
                {"id": "w", "type": "wait", "duration": {"hours": 4}, "next": "s"},
                {"id": "s", "type": "send_email", "template_id": "t1", "next": "c"},
                {
                    "id": "c",
                    "type": "condition",
                    "condition": {"event_since_entry": "order.placed"},
                    "then": "x",
                    "else": "e",
                },
                {
                    "id": "e",
                    "type": "wait_for_event",
                    "event": "order.placed",
                    "timeout": {"days": 2},
                    "on_event": "x",
                    "on_timeout": "t",
                },
                {"id": "t", "type": "add_tag", "tags": ["cold"], "next": "x"},
                {"id": "x", "type": "exit"},
            ]
        )
        == {}
    )


@pytest.mark.parametrize(
    ("step", "field", "words", "code"),
    [
        ({"id": "a", "type": "teleport"}, "steps.0.type", "unknown step type", "step_type_unknown"),
        (
            {"id": "a", "type": "wait"},
            "steps.0.duration",
            "needs a duration",
            "wait_duration_required",
        ),
        (
            {"id": "a", "type": "wait", "duration": {}},
            "steps.0.duration",
            "needs a duration",
            "wait_duration_required",
        ),
        (
            {"id": "a", "type": "send_email"},
            "steps.0.template_id",
            "needs a template_id",
            "step_template_missing",
        ),
        (
            {"id": "a", "type": "send_email", "template_id": "nope"},
            "steps.0.template_id",
            "no template 'nope'",
            "step_template_unknown",
        ),
        (
            {"id": "a", "type": "wait_for_event", "event": "order.placed"},
            "steps.0.timeout",
            "needs a timeout",
            "wait_timeout_invalid",
        ),
        ({"id": "a", "type": "add_tag"}, "steps.0.tags", "at least one tag", "tags_required"),
        (
            {"id": "a", "type": "wait", "duration": {"hours": 1}, "next": "zz"},
            "steps.0.next",
            "no step 'zz'",
            "step_target_unknown",
        ),
    ],
)
def test_each_fault_names_the_step(step: dict[str, Any], field: str, words: str, code: str) -> None:
    found = faults([step])
    assert field in found
    assert found[field].startswith("Step a:")
    assert words in found[field]
    # The console shows the fault in the owner's language by its code (flow.fault.<code>).
    codes = {f.field: f.code for f in problems_of(definition([step]), known_templates={"t1"})}
    assert codes[field] == code


def test_an_unreachable_step_is_named() -> None:
    found = faults(
        [
            {"id": "s", "type": "send_email", "template_id": "t1"},
            {"id": "orphan", "type": "send_email", "template_id": "t1"},
        ]
    )
    assert found == {"steps.1": "Step orphan: unreachable from the first step"}


def test_a_loop_is_refused() -> None:
    found = faults(
        [
            {"id": "a", "type": "wait", "duration": {"hours": 1}, "next": "b"},
            {"id": "b", "type": "wait", "duration": {"hours": 1}, "next": "a"},
        ]
    )
    assert "steps" in found


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        ({"type": "segment"}, "trigger.segment_id"),
        ({"type": "segment", "segment_id": "vip"}, "trigger.segment_id"),
        ({"type": "segment", "segment_id": "new"}, "trigger.segment_id"),  # a built-in
        ({"type": "segment", "segment_id": "01JQ0000000000000000000001"}, None),
        ({"type": "schedule"}, "trigger.schedule"),
        ({"type": "schedule", "schedule": {}}, "trigger.schedule"),
        (
            {"type": "schedule", "schedule": {"at": "2026-12-01T10:00:00Z", "time": "10:00"}},
            "trigger.schedule",
        ),
        ({"type": "schedule", "schedule": {"time": "25:00"}}, "trigger.schedule.time"),
        (
            {"type": "schedule", "schedule": {"time": "10:00", "weekdays": [7]}},
            "trigger.schedule.weekdays",
        ),
        ({"type": "schedule", "schedule": {"at": "2026-12-01T10:00:00-03:00"}}, None),
        ({"type": "schedule", "schedule": {"time": "09:30", "weekdays": [0]}}, None),
    ],
)
def test_segment_and_schedule_triggers_are_checked_going_live(
    trigger: dict[str, Any], field: str | None
) -> None:
    steps = [{"id": "s", "type": "exit"}]
    reentry = {"policy": "after", "days": 1}
    found = problems_of(
        Definition.model_validate({"trigger": trigger, "steps": steps, "reentry": reentry})
    )
    assert [f.field for f in found] == ([field] if field else [])


def test_a_date_trigger_names_its_date() -> None:
    found = problems_of(
        Definition.model_validate(
            {"trigger": {"type": "date"}, "steps": [{"id": "s", "type": "exit"}]}
        )
    )
    assert [f.field for f in found] == ["trigger.date_property"]


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_flows_are_valid(name: str) -> None:
    flow = Definition.model_validate(BUILT_IN[name][1])
    assert problems_of(flow) == []


def test_time_of_day_in_the_customers_zone_on_weekdays() -> None:
    # Friday 2026-11-27 23:00 UTC is 20:00 in São Paulo: the next weekday 10:00 is Monday.
    now = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    until = TimeOfDay(time="10:00", weekdays=[0, 1, 2, 3, 4])
    due = next_time_of_day(now, until, zone_for("BR", None))
    assert due == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # 10:00 -03:00


def test_time_of_day_later_the_same_day() -> None:
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Rome
    due = next_time_of_day(now, TimeOfDay(time="10:00"), zone_for("IT", None))
    assert due == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_time_of_day_across_a_dst_change() -> None:
    # New York moves from EDT (-4) to EST (-5) on 2026-11-01.
    now = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)  # Saturday 11:00 EDT
    due = next_time_of_day(now, TimeOfDay(time="09:00"), zone_for("US", None))
    assert due == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # Sunday 09:00 EST


def test_zone_falls_back_to_the_store_then_utc() -> None:
    assert zone_for(None, "Europe/Lisbon") == ZoneInfo("Europe/Lisbon")
    assert zone_for("ZZ", "Not/AZone") == ZoneInfo("UTC")
    assert zone_for("BR", "Europe/Lisbon") == ZoneInfo("America/Sao_Paulo")
    assert zone_for("NZ", None) == ZoneInfo("Pacific/Auckland")  # from tzdata's zone.tab


def test_quiet_hours_that_wrap_midnight_defer_to_their_end() -> None:
    rome = zone_for("IT", None)
    late = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)  # 23:30 in Rome
    assert quiet_until(late, "21:00", "08:00", rome) == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    early = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # 06:00
    assert quiet_until(early, "21:00", "08:00", rome) == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    day = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert quiet_until(day, "21:00", "08:00", rome) is None
    assert quiet_until(late, None, None, rome) is None


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2090, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.sampled_from(["BR", "IT", "US", "ES", "JP"]),
    st.integers(0, 23),
    st.integers(0, 23),
)
def test_quiet_hours_end_is_after_now_and_outside_them(
    now: datetime, country: str, start: int, end: int
) -> None:
    zone = zone_for(country, None)
    ends = quiet_until(now, f"{start:02d}:00", f"{end:02d}:00", zone)
    if ends is not None:
        assert now < ends <= now + timedelta(days=1, hours=1)
        assert quiet_until(ends, f"{start:02d}:00", f"{end:02d}:00", zone) is None


def test_smart_sending_window() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert smart_sending_allows(None, now, 16)
    assert not smart_sending_allows(now - timedelta(hours=15, minutes=59), now, 16)
    assert smart_sending_allows(now - timedelta(hours=16), now, 16)


def _customer(**changes: Any) -> Customer:
    values: dict[str, Any] = {
        "customer_id": "c1",
        "email": "a@example.com",
        "first_name": "Ana",
        "last_name": None,
        "language": "pt-BR",
        "country": "BR",
        "tags": frozenset({"vip"}),
        "email_consent": "subscribed",
    }
    return Customer(**{**values, **changes})


def test_customer_filter() -> None:
    assert filter_allows(None, _customer())
    assert filter_allows(CustomerFilter(tags_any=["vip", "x"], countries=["BR"]), _customer())
    assert not filter_allows(CustomerFilter(tags_none=["vip"]), _customer())
    assert not filter_allows(
        CustomerFilter(email_consent=["subscribed"]), _customer(email_consent="unsubscribed")
    )
    assert not filter_allows(CustomerFilter(languages=["en"]), _customer())


def test_reentry() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert reentry_allows("never", None, None, now)
    assert not reentry_allows("never", None, now - timedelta(days=400), now)
    assert reentry_allows("after", 3, now - timedelta(days=3), now)
    assert not reentry_allows("after", 3, now - timedelta(days=2), now)


def test_run_names_are_deterministic_and_valid_execution_names() -> None:
    a = run_id("s", "f", "c", "event:1")
    assert a == run_id("s", "f", "c", "event:1")
    assert a != run_id("s", "f", "c", "event:2")
    assert len(a) <= 80
    assert all(ch.isalnum() or ch in "-_" for ch in a)


# Date triggers ------------------------------------------------------------------------------


def test_birthdays_are_due_by_month_day_every_year() -> None:
    from datetime import date

    from chalicelib.automation.runs.rules import date_key, due_date_keys, occasion

    assert date_key("birthday", date(1990, 11, 26)) == "11-26"
    assert due_date_keys("birthday", date(2026, 11, 26), 0) == ["11-26"]
    assert due_date_keys("birthday", date(2026, 11, 29), 3) == ["11-26"]
    assert occasion("birthday", date(2026, 11, 26), 0) == "birthday:2026"
    assert occasion("birthday", date(2027, 1, 2), 3) == "birthday:2026"  # the 30 December's
    # 29 February: kept on the 28th in a year without one, on the 29th in a leap year.
    assert due_date_keys("birthday", date(2027, 2, 28), 0) == ["02-28", "02-29"]
    assert due_date_keys("birthday", date(2028, 2, 28), 0) == ["02-28"]
    assert due_date_keys("birthday", date(2028, 2, 29), 0) == ["02-29"]


def test_anniversaries_are_due_n_days_after_their_day() -> None:
    from datetime import date

    from chalicelib.automation.runs.rules import due_date_keys, occasion

    today = date(2026, 11, 26)
    assert due_date_keys("last_order_at", today, 90) == ["2026-08-28"]
    assert occasion("last_order_at", today, 90) == "last_order:2026-08-28"
    assert due_date_keys("signed_up_at", today, 7) == ["2026-11-19"]
    assert occasion("signed_up_at", today, 7) == occasion("signed_up_at", date(2027, 1, 1), 7)


def test_events_flows_do_not_follow_are_named_going_live() -> None:
    definition = Definition.model_validate(
        {
            "trigger": {"type": "event", "event": "email.sent"},
            "exit_on": ["order.placed", "message.sent"],
            "steps": [
                {
                    "id": "w",
                    "type": "wait_for_event",
                    "event": "flow.tags_requested",
                    "timeout": {"hours": 1},
                    "on_event": "c",
                    "on_timeout": "c",
                },
                {
                    "id": "c",
                    "type": "condition",
                    "condition": {"event_since_entry": "nope.x"},
                    "then": "e",
                },
                {"id": "e", "type": "exit"},
            ],
        }
    )
    faults = [f for f in problems_of(definition) if "do not follow" in f.reason]
    assert [f.field for f in faults] == [
        "trigger.event",
        "exit_on.1",
        "steps.0.event",
        "steps.1.condition.event_since_entry",
    ]


def test_a_recurring_schedule_needs_re_entry() -> None:
    trigger = {"type": "schedule", "schedule": {"time": "10:00"}}
    found = problems_of(
        Definition.model_validate({"trigger": trigger, "steps": [{"id": "s", "type": "exit"}]})
    )
    assert [f.field for f in found] == ["reentry.policy"]
