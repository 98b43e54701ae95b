"""What the credits HTTP API answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from chalicelib.credits.wallets.rules import Wallet as DomainWallet
from chalicelib.credits.wallets.rules import WalletStatus


class Wallet(BaseModel):
    """A customer's wallet. Amounts are decimal strings, never floats."""

    customer_id: str
    status: WalletStatus
    balance: Decimal = Field(description="Available credit, as a decimal string.")
    opened_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, wallet: DomainWallet) -> Wallet:
        return cls(
            customer_id=wallet.customer_id,
            status=wallet.status,
            balance=wallet.balance,
            opened_at=wallet.opened_at,
            closed_at=wallet.closed_at,
        )
