"""The ledger's scheduled job: the expiry of lots (EventBridge schedule -> this handler)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.credits.ledger import usecases

logger = Logger(service="credits")


def expire_due(event: dict[str, Any]) -> dict[str, int]:
    """Expires what is due at the event's time: the schedule's time, not the function's clock,
    so a late or replayed run expires exactly what was due when it was meant to run (and the
    local stack's adjustable clock drives it)."""
    given = event.get("time")
    at = datetime.fromisoformat(given.replace("Z", "+00:00")) if given else datetime.now(UTC)
    outcome = usecases.expire_due(at)
    logger.info("credits expired", extra=outcome)
    return outcome
