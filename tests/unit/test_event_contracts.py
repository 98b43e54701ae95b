"""Event contracts: generated files match the models, and breaking changes need a new version."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.customers.publishing import event_for
from clientela_events import CONTRACTS
from clientela_events.compat import breaking_changes
from clientela_events.generate import SAMPLES_DIR, SCHEMAS_DIR, sample_of, schema_of


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_committed_schema_and_sample_are_what_the_models_generate(contract: Any) -> None:
    committed = json.loads((SCHEMAS_DIR / f"{contract.name}.json").read_text())
    assert committed == schema_of(contract), "run `make schemas` and commit the result"
    sample = json.loads((SAMPLES_DIR / f"{contract.name}.json").read_text())
    assert sample == sample_of(contract)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_no_published_version_changed_incompatibly(contract: Any) -> None:
    committed = json.loads((SCHEMAS_DIR / f"{contract.name}.json").read_text())
    assert breaking_changes(committed, schema_of(contract)) == []


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def test_the_compatibility_rules() -> None:
    base = _object({"id": {"type": "string"}, "n": {"type": "integer"}}, ["id", "n"])
    added = _object({**base["properties"], "extra": {"type": "string"}}, ["id", "n"])
    removed = _object({"id": {"type": "string"}}, ["id"])
    optional = _object(base["properties"], ["id"])
    retyped = _object({"id": {"type": "string"}, "n": {"type": "string"}}, ["id", "n"])

    assert breaking_changes(base, added) == []
    assert breaking_changes(base, removed) == ["/n: removed"]
    assert breaking_changes(base, optional) == ["/n: no longer required"]
    assert breaking_changes(base, retyped) == ["/n: type changed"]


def test_a_nested_choice_is_the_same_as_a_flat_one() -> None:
    """`Amount | None` is anyOf[anyOf[string, number], null]: what `Decimal | None` was, flat."""
    flat = _object({"n": {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}}, [])
    nested = _object(
        {"n": {"anyOf": [{"anyOf": [{"type": "string"}, {"type": "number"}]}, {"type": "null"}]}},
        [],
    )
    narrower = _object({"n": {"anyOf": [{"type": "string"}, {"type": "null"}]}}, [])
    assert breaking_changes(flat, nested) == []
    assert breaking_changes(flat, narrower) == ["/n: type changed"]


def _record(
    name: str, sk: str, new: dict[str, Any] | None, old: dict[str, Any] | None
) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Keys": {"pk": {"S": f"STORE#s1#{sk}"}, "sk": {"S": sk}},
        "SequenceNumber": "1",
        "ApproximateCreationDateTime": 1_795_000_000,
    }
    if new:
        change["NewImage"] = new
    if old:
        change["OldImage"] = old
    return {"eventID": "abc", "eventName": name, "dynamodb": change}


def _image(version: int, city: str) -> dict[str, Any]:
    return {
        "id": {"S": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR"},
        "email": {"S": "a@example.com"},
        "city": {"S": city},
        "created_at": {"S": "2026-11-23T10:00:00Z"},
        "updated_at": {"S": "2026-11-23T11:00:00Z"},
        "version": {"N": str(version)},
        "store_id": {"S": "s1"},
        "entity": {"S": "customer"},
    }


def test_stream_records_map_to_events() -> None:
    sk = "CUSTOMER#01JD3Z6Q4W0W8Y5J3K2M1N0PQR"
    created = event_for(_record("INSERT", sk, _image(1, "Roma"), None))
    updated = event_for(_record("MODIFY", sk, _image(2, "Bari"), _image(1, "Roma")))
    deleted = event_for(_record("REMOVE", sk, None, _image(2, "Bari")))

    assert created and updated and deleted
    assert (created.event_type, updated.event_type, deleted.event_type) == (
        "customer.created",
        "customer.updated",
        "customer.deleted",
    )
    assert updated.data.changed == ["city"]  # type: ignore[attr-defined]
    assert created.event_id == uuid.uuid5(uuid.UUID("6f1d2c3b-8a9e-4f70-b1c2-d3e4f5a6b7c8"), "abc")
    assert (
        event_for(_record("INSERT", "EMAIL#a@example.com", {"customer_id": {"S": "x"}}, None))
        is None
    )


def _wire(event_type: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event as a queue hands it over, from any source."""
    return {
        "detail-type": event_type,
        "source": source,
        "detail": {
            "metadata": {
                "event_id": str(uuid.uuid4()),
                "event_type": event_type,
                "store_id": "store-1",
                "occurred_at": "2026-11-23T12:00:00Z",
                "version": 1,
            },
            "data": data,
        },
    }


@pytest.mark.parametrize("event_type", ["order.placed", "order.cancelled", "order.refunded"])
def test_order_facts_recorded_through_the_customers_api_are_read_from_either_source(
    event_type: str,
) -> None:
    """The customers service publishes what its API records under its own source (a second
    publisher of the contract); consumers must read it as they read the platform's."""
    from clientela.events import InvalidEvent, parse_eventbridge
    from clientela_events import contract_for

    sample = contract_for(event_type, 1).sample
    for source in ("clientela.storefront", "clientela.customers"):
        event = parse_eventbridge(_wire(event_type, source, sample))
        assert (event.event_type, event.source) == (event_type, source)
    with pytest.raises(InvalidEvent):
        parse_eventbridge(_wire(event_type, "clientela.automation", sample))
