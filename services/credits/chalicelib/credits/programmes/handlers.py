"""The cashback programme's scheduled job: grants the cashbacks whose hold window has passed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.credits.programmes import usecases

logger = Logger(service="credits")


def grant_due(event: dict[str, Any]) -> dict[str, int]:
    """The scheduled event's time is the job's now (the local clock advances it in tests)."""
    given = event.get("time")
    at = datetime.fromisoformat(given.replace("Z", "+00:00")) if given else datetime.now(UTC)
    outcomes = usecases.grant_due(at)
    logger.info("cashback grants run", extra=outcomes)
    return outcomes
