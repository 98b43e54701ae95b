"""Clientela's event contracts: what each service may publish on the bus, versioned.

Every event travels on the `clientela` EventBridge bus as
`{"source": "clientela.<service>", "detail-type": "<event type>", "detail": <Envelope>}`.
The JSON Schemas in `events/schemas/` and the samples in `events/samples/` are generated from
these models (`make schemas`) and are the contract consumers code against.

The registry (`CONTRACTS`, `contract_for`) loads on first use: it imports every contract
module, and a function that imports one contract (`from clientela_events.credits import ...`)
or the envelope would otherwise pay for all of them while it starts (root README, "Cold
start").
"""

from typing import TYPE_CHECKING, Any

from clientela_events.envelope import Envelope, Metadata

if TYPE_CHECKING:
    from clientela_events.registry import CONTRACTS, Contract, contract_for

__all__ = ["CONTRACTS", "Contract", "Envelope", "Metadata", "contract_for"]


def __getattr__(name: str) -> Any:
    if name in ("CONTRACTS", "Contract", "contract_for"):
        from clientela_events import registry  # noqa: PLC0415

        return getattr(registry, name)
    raise AttributeError(f"module 'clientela_events' has no attribute {name!r}")
