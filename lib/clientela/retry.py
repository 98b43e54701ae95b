"""Pausing before trying a write again that lost a race."""

from __future__ import annotations

import random
import time


def back_off(attempt: int) -> None:
    """A short, jittered pause: up to 50 ms, doubling with each attempt."""
    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not security
