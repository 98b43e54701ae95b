"""The credits service's configuration, validated once at start-up."""

from __future__ import annotations

import functools
from datetime import timedelta

from clientela.settings import EnvSettings


class CreditsSettings(EnvSettings):
    env_prefix = "CREDITS_"

    table: str = "clientela-credits"
    # Only the local stack reads this: on AWS the stream is wired by infra/credits.yaml.
    table_stream_arn: str = (
        "arn:aws:dynamodb:us-east-1:000000000000:table/clientela-credits/stream/local"
    )
    idempotency_table: str = "clientela-credits-idempotency"
    # The subscription queue infra/credits.yaml defines (rule on the bus -> this queue).
    customer_events_queue: str = "clientela-credits-customer-events"
    # Order and customer events for coupons and referrals (infra/credits.yaml, OfferEventsRule
    # -> this queue).
    offer_events_queue: str = "clientela-credits-offer-events"
    # Export requests for wallets (infra/credits.yaml, ExtractsRule -> this queue; issue 10).
    extracts_queue: str = "clientela-credits-extracts"
    # Signs the cursors of GET /wallets, a wallet's ledger and GET /referrals
    # (infra/credits.yaml CursorKeySecret).
    cursor_key_secret: str = "clientela/credits/cursor-key"  # noqa: S105 - a name, not a key
    # The currency a wallet is shown in when the request names none, for a store that never
    # set its own (PUT /credits/settings). Postings always name theirs.
    default_currency: str = "BRL"
    # How long before a lot expires `credit.expiring` goes out (once per lot), for a store
    # that never set its own (PUT /credits/settings).
    expiring_lead_days: int = 7

    @property
    def expiring_lead(self) -> timedelta:
        return timedelta(days=self.expiring_lead_days)


@functools.cache
def settings() -> CreditsSettings:
    return CreditsSettings()
