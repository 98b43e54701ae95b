"""When a scheduled flow fires: the latest occurrence of its schedule since the last firing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.automation.flows.rules import Schedule
from chalicelib.automation.runs.rules import latest_occurrence

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
ROME = ZoneInfo("Europe/Rome")
MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 in São Paulo

instants = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
schedules = st.builds(
    Schedule,
    time=st.sampled_from(["00:00", "02:30", "10:00", "23:59"]),
    weekdays=st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
)


def test_daily_at_a_local_time_in_the_store_s_zone() -> None:
    daily = Schedule(time="10:00")

    assert latest_occurrence(daily, SAO_PAULO, MONDAY - timedelta(hours=6), MONDAY) == datetime(
        2026, 11, 23, 13, 0, tzinfo=UTC
    )
    # Already fired at 10:00 today: nothing more until tomorrow's.
    fired = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert latest_occurrence(daily, SAO_PAULO, fired, MONDAY + timedelta(hours=20)) is None
    assert latest_occurrence(daily, SAO_PAULO, fired, MONDAY + timedelta(hours=22)) == (
        fired + timedelta(days=1)
    )


def test_weekly_only_on_its_weekdays_and_only_the_latest_missed() -> None:
    fridays = Schedule(time="09:00", weekdays=[4])
    since = MONDAY - timedelta(days=30)

    found = latest_occurrence(fridays, ROME, since, MONDAY)

    assert found == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # last Friday 09:00 in Rome


def test_once_at_an_instant() -> None:
    once = Schedule(at=MONDAY)

    assert latest_occurrence(once, ROME, MONDAY - timedelta(minutes=1), MONDAY) == MONDAY
    assert latest_occurrence(once, ROME, MONDAY, MONDAY + timedelta(days=1)) is None  # fired
    assert latest_occurrence(once, ROME, MONDAY - timedelta(days=1), MONDAY - timedelta(1)) is None


@given(schedules, instants, st.integers(1, 60 * 24 * 10))
def test_the_occurrence_is_in_the_window_on_a_weekday_at_the_time(
    schedule: Schedule, since: datetime, minutes: int
) -> None:
    now = since + timedelta(minutes=minutes)

    found = latest_occurrence(schedule, SAO_PAULO, since, now)

    if found is None:
        return
    local = found.astimezone(SAO_PAULO)
    assert since < found <= now
    assert local.weekday() in schedule.weekdays
    assert local.strftime("%H:%M") == schedule.time


@given(schedules, instants, st.integers(1, 60 * 24 * 10))
def test_firing_at_each_tick_never_fires_an_occurrence_twice_nor_skips_the_last(
    schedule: Schedule, since: datetime, minutes: int
) -> None:
    """A tick every 7 minutes from `since`, each from the last occurrence fired: occurrences
    come out strictly increasing, and the last tick finds none left."""
    fired: list[datetime] = []
    last = since
    for tick in range(0, minutes + 1, 7):
        found = latest_occurrence(schedule, SAO_PAULO, last, since + timedelta(minutes=tick))
        if found is not None:
            fired.append(found)
            last = found
    assert fired == sorted(set(fired))
    end = since + timedelta(minutes=minutes - minutes % 7)
    assert latest_occurrence(schedule, SAO_PAULO, last, end) is None
