"""A flow's add / remove tag steps end on the customer in the customers service: the step
publishes `flow.tags_requested`, the bus's customers inbox rule delivers it to the inbox queue,
`on_inbound_event` changes the tags (against moto, Step Functions executing)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3

from bench.flowsdriver import FlowsDriver
from clientela_events.customers import CustomerV1
from clientela_events.storefront import CartUpdatedV1
from clientela_local.lambda_context import new_context
from tests.service.automation_mail import sqs_record
from tests.service.conftest import Api

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def tag_flow(flows_api: Api, step: str, tags: list[str]) -> str:
    definition = {
        "trigger": {"type": "event", "event": "cart.updated"},
        "steps": [{"id": "tag", "type": step, "tags": tags}],
    }
    answer = flows_api.call(
        "POST", "/flows", {"name": f"Tag {uuid.uuid4().hex[:6]}", "definition": definition}
    )
    assert answer.status == 201, answer.body
    live = flows_api.call("PUT", f"/flows/{answer.body['id']}/state", {"state": "live"})
    assert live.status == 200, live.body
    return str(answer.body["id"])


def known_customer(api: Api, store_id: str, tags: list[str]) -> str:
    """A customer of the customers API, known to automation's contacts read model."""
    from chalicelib.automation.contacts import usecases as contacts

    body = {"email": f"t{uuid.uuid4().hex[:10]}@example.com", "tags": tags}
    answer = api.call("POST", "/customers", body)
    assert answer.status == 201, answer.body
    contacts.keep_profile(
        store_id,
        CustomerV1(
            id=answer.body["id"],
            email=body["email"],
            tags=tags,
            created_at=T0,
            updated_at=T0,
            version=answer.body["version"],
        ),
    )
    return str(answer.body["id"])


def cart(driver: FlowsDriver, customer_id: str) -> None:
    data = CartUpdatedV1(
        customer_id=customer_id,
        product_id="P-1",
        sku="SKU-1",
        name="Camiseta",
        quantity=1,
        price=Decimal("79.90"),
        currency="BRL",
        at=T0,
    )
    driver.publish("cart.updated", data, T0)


def inbox_tag_requests(store_id: str) -> list[dict[str, Any]]:
    """The flow.tags_requested the bus delivered to the customers inbox queue for this store."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="clientela-customers-inbox")["QueueUrl"]
    found: list[dict[str, Any]] = []
    quiet = 0
    while quiet < 2:  # a standard queue answers from a sample: ask until it is quiet
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in batch:
            body = json.loads(message["Body"])
            if body["detail"]["metadata"]["store_id"] == store_id:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                if body["detail-type"] == "flow.tags_requested":
                    found.append(body)
        quiet = 0 if batch else quiet + 1
    return found


def to_customers(apps: dict[str, Any], events: list[dict[str, Any]]) -> None:
    records = [sqs_record(json.dumps(event)) for event in events]
    context = new_context(
        "clientela-customers", "on_inbound_event", region="us-east-1", account="123456789012"
    )
    answer = apps["customers"].on_inbound_event({"Records": records}, context)
    assert answer == {"batchItemFailures": []}


def tags_of(api: Api, customer_id: str) -> list[str]:
    return list(api.call("GET", f"/customers/{customer_id}").body["tags"])


def test_a_flows_tag_steps_end_on_the_customer(
    apps: dict[str, Any], api: Api, flows_api: Api, store_id: str
) -> None:
    driver = FlowsDriver(apps["automation"], store_id)
    tag_flow(flows_api, "add_tag", ["Cart-Abandoner"])
    tag_flow(flows_api, "remove_tag", ["new"])
    customer_id = known_customer(api, store_id, ["new", "vip"])
    inbox_tag_requests(store_id)  # whatever the customer's creation sent there

    cart(driver, customer_id)
    driver.settle()
    requests = inbox_tag_requests(store_id)

    assert sorted(
        (r["detail"]["data"]["add"], r["detail"]["data"]["remove"]) for r in requests
    ) == [
        ([], ["new"]),
        (["Cart-Abandoner"], []),
    ]
    to_customers(apps, requests)
    assert tags_of(api, customer_id) == ["cart-abandoner", "vip"]
    version = api.call("GET", f"/customers/{customer_id}").body["version"]
    to_customers(apps, requests + requests)  # redelivered: nothing changes, nothing written
    customer = api.call("GET", f"/customers/{customer_id}").body
    assert (customer["tags"], customer["version"]) == (["cart-abandoner", "vip"], version)


def request(store_id: str, customer_id: str, add: list[str]) -> dict[str, Any]:
    from clientela.events import OutgoingEvent
    from clientela_events.flows import FlowTagsRequestedV1

    event = OutgoingEvent(
        "flow.tags_requested",
        1,
        uuid.uuid4(),
        store_id,
        T0,
        FlowTagsRequestedV1(customer_id=customer_id, flow_id="f", run_id="r", add=add),
    )
    entry = event.entry("clientela")
    return {
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "detail": json.loads(entry["Detail"]),
    }


def test_tags_for_a_deleted_customer_or_past_the_limit_are_dropped(
    apps: dict[str, Any], api: Api, store_id: str
) -> None:
    gone = known_customer(api, store_id, [])
    assert api.call("DELETE", f"/customers/{gone}").status == 204
    full = known_customer(api, store_id, [f"t{i}" for i in range(40)])

    # Neither can ever succeed: handled (no retry, no dead letter), nothing written.
    to_customers(apps, [request(store_id, gone, ["vip"]), request(store_id, full, ["one-more"])])

    assert api.call("GET", f"/customers/{gone}").status == 404
    assert tags_of(api, full) == sorted(f"t{i}" for i in range(40))
