"""EventBridge schedule expressions: when does `rate(...)` or `cron(...)` fire next?

AWS cron has six fields (minutes hours day-of-month month day-of-week year), numbers days of the
week from 1 = SUN and has `?`, `L`, `W` and `#`; `aws-croniter` implements exactly that, so
nothing here parses cron by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aws_croniter import AwsCroniter  # type: ignore[import-untyped]

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Schedule:
    """A parsed expression. Rate schedules count their periods from `anchor` (rule creation)."""

    expression: str
    anchor: datetime
    period: timedelta | None = None
    cron: AwsCroniter | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after `moment`."""
        if self.period is not None:
            periods = (moment - self.anchor) // self.period + 1
            return self.anchor + max(periods, 1) * self.period
        assert self.cron is not None
        (upcoming,) = self.cron.get_next(moment.astimezone(UTC))
        if upcoming is None:  # a cron with a year range that has passed never fires again
            return datetime.max.replace(tzinfo=UTC)
        return upcoming  # type: ignore[no-any-return]


def parse(expression: str, anchor: datetime) -> Schedule:
    """Raises ValueError for anything EventBridge would reject."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1 or (value == 1) != (rate.group(2) == unit):
            raise ValueError(f"{expression}: use `1 {unit}` or `N {unit}s` (N > 1)")
        return Schedule(text, anchor, period=timedelta(seconds=value * _UNIT_SECONDS[unit]))
    cron = _CRON.match(text)
    if cron:
        try:
            return Schedule(text, anchor, cron=AwsCroniter(cron.group(1).strip()))
        except Exception as exc:  # aws-croniter raises its own exception types
            raise ValueError(f"{expression}: {exc}") from None
    raise ValueError(f"{expression}: not a rate(...) or cron(...) expression")
