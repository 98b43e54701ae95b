"""The credits service's configuration, validated once at start-up."""

from __future__ import annotations

import functools

from pydantic_settings import BaseSettings, SettingsConfigDict


class CreditsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDITS_", frozen=True)

    table: str = "clientela-credits"
    idempotency_table: str = "clientela-credits-idempotency"
    # The subscription queue infra/credits.yaml defines (rule on the bus -> this queue).
    customer_events_queue: str = "clientela-credits-customer-events"
    # Order events for coupons (infra/credits.yaml, OfferEventsRule -> this queue).
    offer_events_queue: str = "clientela-credits-offer-events"
    # The key that signs list cursors (infra/credits.yaml CursorKeySecret).
    cursor_key_secret: str = "clientela/credits/cursor-key"  # noqa: S105 - a name, not a key


@functools.cache
def settings() -> CreditsSettings:
    return CreditsSettings()
