"""The pollers' pace: the usual interval while there is work, longer rests when there is none,
and a rest that ends as soon as anything happens."""

from __future__ import annotations

import threading

from clientela_local.polling import (
    LONGEST_REST_SECONDS,
    QUIET_POLLS_BEFORE_RESTING,
    Activity,
    resting_time,
)


def test_a_poller_keeps_its_pace_until_it_has_been_quiet_a_while_then_rests_longer() -> None:
    interval = 0.2
    paces = [resting_time(interval, quiet) for quiet in range(QUIET_POLLS_BEFORE_RESTING + 1)]
    assert paces == [interval] * (QUIET_POLLS_BEFORE_RESTING + 1)
    longer = [resting_time(interval, QUIET_POLLS_BEFORE_RESTING + n) for n in range(1, 40)]
    assert longer == sorted(longer)
    assert longer[0] == 2 * interval
    assert longer[-1] == LONGEST_REST_SECONDS
    # An interval longer than the longest rest is kept as it is.
    assert resting_time(5.0, 100) == 5.0


def test_a_rest_ends_when_work_is_recorded() -> None:
    activity = Activity()
    seen = activity.value
    rested = threading.Event()

    def rest() -> None:
        activity.rest(60, seen=seen)
        rested.set()

    thread = threading.Thread(target=rest, daemon=True)
    thread.start()
    assert not rested.wait(0.1)  # still resting
    activity.bump()
    assert rested.wait(10)


def test_a_rest_is_skipped_when_work_came_since_the_poll_began() -> None:
    activity = Activity()
    seen = activity.value
    activity.bump()
    activity.rest(60, seen=seen)  # returns at once: something happened during the poll
