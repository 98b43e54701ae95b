"""Clientela's event contracts: what each service may publish on the bus, versioned.

Every event travels on the `clientela` EventBridge bus as
`{"source": "clientela.<service>", "detail-type": "<event type>", "detail": <Envelope>}`.
The JSON Schemas in `events/schemas/` and the samples in `events/samples/` are generated from
these models (`make schemas`) and are the contract consumers code against.
"""

from clientela_events.envelope import Envelope, Metadata
from clientela_events.registry import CONTRACTS, Contract, contract_for

__all__ = ["CONTRACTS", "Contract", "Envelope", "Metadata", "contract_for"]
