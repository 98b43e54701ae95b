"""Every contract, by event type and version: the list schemas and samples are generated from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from clientela_events import customers


@dataclass(frozen=True)
class Contract:
    source: str
    event_type: str
    version: int
    model: type[BaseModel]
    sample: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.event_type}.v{self.version}"


_WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
_CUSTOMER: dict[str, Any] = {
    "id": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR",
    "email": "joao.silva@example.com.br",
    "phone": "+5511987654321",
    "first_name": "João",
    "last_name": "Silva",
    "city": "São Paulo",
    "country": "BR",
    "tags": ["vip"],
    "created_at": _WHEN,
    "updated_at": _WHEN,
    "version": 1,
}

CONTRACTS: tuple[Contract, ...] = (
    Contract(
        customers.SOURCE,
        "customer.created",
        1,
        customers.CustomerCreatedV1,
        {"customer": _CUSTOMER},
    ),
    Contract(
        customers.SOURCE,
        "customer.updated",
        1,
        customers.CustomerUpdatedV1,
        {
            "old": _CUSTOMER,
            "new": {**_CUSTOMER, "city": "Rio de Janeiro", "version": 2},
            "changed": ["city"],
        },
    ),
    Contract(
        customers.SOURCE,
        "customer.deleted",
        1,
        customers.CustomerDeletedV1,
        {"customer_id": _CUSTOMER["id"], "version": 2, "deleted_at": _WHEN},
    ),
)

SAMPLE_EVENT_ID = UUID("0b6f6b1e-3d0c-5d7e-9a43-0c7f2f4a9b11")


def contract_for(event_type: str, version: int) -> Contract:
    for contract in CONTRACTS:
        if contract.event_type == event_type and contract.version == version:
            return contract
    raise KeyError(f"no contract for {event_type} v{version}")
