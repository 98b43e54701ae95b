"""Publishing domain events on the bus, and reading them back in consumers.

Publishers hand over (contract, store, payload, event id); this module builds the envelope and
sends EventBridge entries in batches, reporting which ones failed so the caller can retry exactly
those. Consumers parse the EventBridge event into the typed envelope of its contract.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, ValidationError

from clientela import aws
from clientela.settings import platform_settings
from clientela_events import Envelope, Metadata

if TYPE_CHECKING:
    from clientela_events.registry import Contract

_MAX_ENTRIES_PER_CALL = 10  # EventBridge's PutEvents limit
log = logging.getLogger(__name__)


def _contract(event_type: str, version: int) -> Contract:
    # The registry imports every contract module: loaded with the first event published or
    # read, not while a function starts (clientela_events).
    from clientela_events.registry import contract_for  # noqa: PLC0415

    return contract_for(event_type, version)


@dataclass(frozen=True)
class OutgoingEvent:
    event_type: str
    version: int
    event_id: UUID
    store_id: str
    occurred_at: datetime
    data: BaseModel
    correlation_id: str | None = None
    # Another publisher of the same contract (its registry entry names its first source).
    source: str | None = None

    def entry(self, bus: str) -> dict[str, Any]:
        contract = _contract(self.event_type, self.version)
        envelope = Envelope[contract.model](  # type: ignore[name-defined]
            metadata=Metadata(
                event_id=self.event_id,
                event_type=self.event_type,
                version=self.version,
                occurred_at=self.occurred_at,
                store_id=self.store_id,
                correlation_id=self.correlation_id,
            ),
            data=self.data,
        )
        return {
            "EventBusName": bus,
            "Source": self.source or contract.source,
            "DetailType": self.event_type,
            "Time": self.occurred_at,
            "Detail": envelope.model_dump_json(),
        }


def publish(events: Sequence[OutgoingEvent]) -> list[int]:
    """Put the events on the bus in order. Returns the indexes of those that were not accepted."""
    bus = platform_settings().event_bus
    failed: list[int] = []
    for start in range(0, len(events), _MAX_ENTRIES_PER_CALL):
        chunk = events[start : start + _MAX_ENTRIES_PER_CALL]
        try:
            response = aws.events().put_events(Entries=[e.entry(bus) for e in chunk])  # type: ignore[misc]
        except Exception as exc:  # the caller retries what failed, whatever the cause
            log.warning("PutEvents failed", extra={"error_type": type(exc).__name__})
            failed.extend(range(start, len(events)))
            break
        for offset, result in enumerate(response["Entries"]):
            if "ErrorCode" in result:
                log.warning("event refused by the bus", extra={"error_code": result["ErrorCode"]})
                failed.append(start + offset)
    return failed


class InvalidEvent(Exception):
    """An event that is not one of our contracts. Its message never holds the event's values."""


@dataclass(frozen=True)
class IncomingEvent:
    source: str
    event_type: str
    metadata: Metadata
    data: BaseModel


def parse_eventbridge(body: str | dict[str, Any]) -> IncomingEvent:
    """An EventBridge event (as an SQS body or a dict) as the typed envelope of its contract.

    Raises ValueError (or pydantic's ValidationError) for anything that is not a known contract.
    """
    try:
        event = json.loads(body) if isinstance(body, str) else body
        detail = event.get("detail")
        if not isinstance(detail, dict):
            raise InvalidEvent("the event has no detail")
        metadata = Metadata.model_validate(detail.get("metadata"))
        contract = _contract(event.get("detail-type", ""), metadata.version)
        source = event.get("source")
        if source != contract.source and source not in contract.also_from:
            raise InvalidEvent("the event's source is not its contract's")
        data = contract.model.model_validate(detail.get("data"))
    except ValidationError as exc:
        # Name the fields, never their values: events carry personal data and this ends in logs.
        fields = sorted({".".join(map(str, e["loc"])) + f" ({e['type']})" for e in exc.errors()})
        raise InvalidEvent(f"the event does not match its contract: {', '.join(fields)}") from None
    except (KeyError, ValueError, AttributeError) as exc:
        raise InvalidEvent(f"the event is not a Clientela event: {type(exc).__name__}") from None
    return IncomingEvent(source, contract.event_type, metadata, data)
