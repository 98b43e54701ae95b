"""Customer events: table stream -> publisher -> bus, checked against the published contracts."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema  # type: ignore[import-untyped]
import pytest

from clientela.settings import PlatformSettings
from clientela_local.lambda_context import new_context
from tests.service.conftest import Api
from tests.service.streams import new_records

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas"


def _context(handler: str) -> Any:
    return new_context("clientela-customers", handler, region="us-east-1", account="123456789012")


# Every record of the customers stream read so far by this worker: a store's records are
# asked for again after later writes, and from the first one.
_SEEN: list[dict[str, Any]] = []


def stream_records(store_id: str) -> list[dict[str, Any]]:
    """Every record of the customers table stream that belongs to one store, in order."""
    _SEEN.extend(new_records("clientela-customers"))
    return [
        copy.deepcopy(r)
        for r in _SEEN
        if r["dynamodb"]["Keys"]["pk"]["S"]
        == f"STORE#{store_id}#{r['dynamodb']['Keys']['sk']['S']}"
    ]


@pytest.fixture
def listener(store_id: str) -> Iterator[Any]:
    """A queue subscribed to this store's customer events, as an integration test listener."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    name = f"listener-{uuid.uuid4().hex[:10]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["clientela.customers"], "detail": {"metadata": {"store_id": [store_id]}}}
    events.put_rule(Name=name, EventBusName="clientela", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName="clientela", Targets=[{"Id": "q", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        out = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return out

    yield received
    events.remove_targets(Rule=name, EventBusName="clientela", Ids=["q"])
    events.delete_rule(Name=name, EventBusName="clientela")
    sqs.delete_queue(QueueUrl=url)


def test_every_committed_write_becomes_one_contract_event(
    api: Api, apps, store_id, listener
) -> None:
    created = api.call("POST", "/customers", {"email": "eva@example.it", "city": "Torino"}).body
    api.call("POST", "/customers", {"email": "eva@example.it"})  # refused: no event
    api.call("PATCH", f"/customers/{created['id']}", {"city": "Milano", "tags": ["vip"]})
    api.call("DELETE", f"/customers/{created['id']}")
    records = stream_records(store_id)

    result = apps["customers"].publish_customer_changes({"Records": records}, _context("publish"))

    assert result == {"batchItemFailures": []}
    events = listener()
    assert [e["detail-type"] for e in events] == [
        "customer.created",
        "customer.updated",
        "customer.deleted",
    ]
    for event in events:
        schema = json.loads((SCHEMAS / f"{event['detail-type']}.v1.json").read_text())
        jsonschema.validate(event["detail"], schema)
        assert event["detail"]["metadata"]["store_id"] == store_id
    created_event, updated, deleted = (e["detail"]["data"] for e in events)
    assert created_event["customer"]["email"] == "eva@example.it"
    assert updated["changed"] == ["city", "tags"]
    assert (updated["old"]["city"], updated["new"]["city"]) == ("Torino", "Milano")
    assert updated["new"]["version"] == 2
    assert deleted == {
        "customer_id": created["id"],
        "version": 2,
        "deleted_at": deleted["deleted_at"],
    }
    assert "email" not in json.dumps(deleted)


def test_a_retried_batch_republishes_the_same_event_ids(api: Api, apps, store_id, listener) -> None:
    api.call("POST", "/customers", {"email": "ugo@example.it"})
    records = stream_records(store_id)
    handler = apps["customers"].publish_customer_changes

    handler({"Records": records}, _context("publish"))
    handler({"Records": records}, _context("publish"))

    ids = [e["detail"]["metadata"]["event_id"] for e in listener()]
    assert len(ids) == 2
    assert ids[0] == ids[1]


def test_when_the_bus_refuses_the_batch_reports_the_first_record(
    api: Api, apps, store_id, listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.call("POST", "/customers", {"email": "a@example.it"})
    api.call("POST", "/customers", {"email": "b@example.it"})
    records = [
        r
        for r in stream_records(store_id)
        if r["dynamodb"]["Keys"]["sk"]["S"].startswith("CUSTOMER#")
    ]
    monkeypatch.setattr(
        "clientela.events.platform_settings", lambda: PlatformSettings(event_bus="no-such-bus")
    )

    result = apps["customers"].publish_customer_changes({"Records": records}, _context("publish"))

    assert result == {
        "batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
    }
    assert listener() == []


def test_an_order_publishes_the_customers_new_aggregates_at_the_same_version(
    api: Api, apps, store_id, listener
) -> None:
    created = api.call("POST", "/customers", {"email": "ada@example.it"}).body
    order = {
        "order_id": f"o-{uuid.uuid4().hex[:8]}",
        "email": "ada@example.it",
        "customer_id": created["id"],
        "placed_at": "2026-11-20T10:00:00Z",
        "currency": "EUR",
        "total": "120.50",
        "items": [
            {
                "product_id": "p-1",
                "sku": "S-1",
                "name": "Borsa",
                "quantity": 1,
                "unit_price": "120.50",
            }
        ],
    }
    assert api.call("POST", "/orders", {"orders": [order]}).status == 200

    apps["customers"].publish_customer_changes(
        {"Records": stream_records(store_id)}, _context("publish")
    )

    events = [e for e in listener() if e["detail-type"] == "customer.updated"]
    assert len(events) == 1, "one event for the aggregates, none for search or list entries"
    schema = json.loads((SCHEMAS / "customer.updated.v1.json").read_text())
    jsonschema.validate(events[0]["detail"], schema)
    update = events[0]["detail"]["data"]
    assert update["changed"] == ["orders_count", "total_spent", "last_order_at"]
    assert update["new"]["version"] == update["old"]["version"] == 1
    new = update["new"]
    assert (new["orders_count"], new["total_spent"], new["currency"]) == (1, "120.50", "EUR")
    assert new["last_order_at"].startswith("2026-11-20T10:00:00")
    assert update["old"]["orders_count"] == 0
