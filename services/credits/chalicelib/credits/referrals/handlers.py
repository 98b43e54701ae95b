"""Refer-a-friend's scheduled job: rewards referrals whose hold window has passed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.credits.referrals import usecases

logger = Logger(service="credits")


def reward_due(event_time: str | None) -> dict[str, Any]:
    """The scheduled event's time is the job's now (the local clock advances it in tests)."""
    at = datetime.fromisoformat(event_time.replace("Z", "+00:00")) if event_time else None
    outcomes = usecases.reward_due(at or datetime.now(UTC))
    logger.info("referral rewards run", extra={"outcomes": outcomes})
    return outcomes
