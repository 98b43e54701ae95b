"""Credits events come from the table's stream, not from the request that wrote: every
committed change becomes its contract event, a write whose publication never happened (the
function died after the commit) is still announced, and a retried batch republishes the same
ids."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema  # type: ignore[import-untyped]
import pytest

from chalicelib.credits.ledger.store import LedgerStore
from chalicelib.credits.programmes import usecases as programmes
from clientela.settings import PlatformSettings
from tests.service.conftest import Api
from tests.service.test_credits_cashback_api import SETTINGS
from tests.service.test_credits_consumer import WHEN, publish_changes, stream_records
from tests.service.test_credits_coupons_api import JOAO, MARIA
from tests.service.test_credits_referrals_api import (  # noqa: F401
    PROGRAMME,
    credits,
    deliver,
    offer,
    placed,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas"


@pytest.fixture
def listener(store_id: str) -> Iterator[Any]:
    """A queue subscribed to this store's credits events."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    name = f"listener-{uuid.uuid4().hex[:10]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["clientela.credits"], "detail": {"metadata": {"store_id": [store_id]}}}
    events.put_rule(Name=name, EventBusName="clientela", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName="clientela", Targets=[{"Id": "q", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        out = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return sorted(out, key=lambda e: e["detail"]["metadata"]["occurred_at"])

    yield received
    events.remove_targets(Rule=name, EventBusName="clientela", Ids=["q"])
    events.delete_rule(Name=name, EventBusName="clientela")
    sqs.delete_queue(QueueUrl=url)


def test_every_committed_change_becomes_one_contract_event(
    credits: Api,  # noqa: F811
    offer: Any,  # noqa: F811
    store_id: str,
    apps: dict[str, Any],
    listener: Any,
) -> None:
    key = {"Idempotency-Key": "g1"}
    body = {"kind": "bonus", "amount": "10.00", "currency": "BRL"}
    assert credits.call("POST", f"/wallets/{MARIA}/credits", body, headers=key).status == 201
    assert credits.call("POST", f"/wallets/{MARIA}/credits", body, headers=key).status == 200
    spent = credits.call(
        "POST", f"/wallets/{MARIA}/debits", {"amount": "4.00", "currency": "BRL", "order_id": "O1"}
    ).body["entry"]["entry_id"]
    credits.call(
        "POST",
        f"/wallets/{MARIA}/debits/{spent}/reversal",
        {"amount": "1.00"},
        headers={"Idempotency-Key": "r1"},
    )
    coupon = {"customer_id": MARIA, "code": "PUB-10", "percentage": 10}
    assert credits.call("POST", "/coupons", coupon).status == 201
    redemption = {"order_id": "O2", "customer_id": MARIA, "subtotal": "50.00", "currency": "BRL"}
    assert credits.call("POST", "/coupons/PUB-10/redemptions", redemption).status == 201
    assert credits.call("DELETE", "/coupons/PUB-10/redemptions/O2").status == 200
    assert credits.call("PUT", "/referrals/programme", PROGRAMME).status == 200
    code = credits.call("POST", "/referrers", {"customer_id": MARIA}).body["code"]
    assert credits.call("POST", "/referrals", {"code": code, "customer_id": JOAO}).status == 201
    assert credits.call("PUT", "/credits/settings", SETTINGS).status == 200
    offer(placed(store_id, JOAO, "O3"))
    assert listener() == []  # nothing goes out with the writes

    assert publish_changes(apps, store_id) == {"batchItemFailures": []}

    events = listener()
    kinds = [e["detail-type"] for e in events]
    assert sorted(kinds) == sorted(
        [
            "credit.granted",
            "credit.spent",
            "credit.reverted",
            "coupon.created",
            "coupon.redeemed",
            "coupon.reverted",
            "referral.created",
            "referral.qualified",
            "cashback.pending",
        ]
    )
    for event in events:
        schema = json.loads((SCHEMAS / f"{event['detail-type']}.v1.json").read_text())
        jsonschema.validate(event["detail"], schema)
    data = {e["detail-type"]: e["detail"]["data"] for e in events}
    assert data["credit.spent"]["balance_after"] == "6.00"
    assert data["coupon.redeemed"]["remaining_uses"] == 0
    assert data["cashback.pending"]["order_id"] == "O3"


def test_a_grant_whose_function_died_right_after_the_commit_is_still_announced(
    credits: Api,  # noqa: F811
    offer: Any,  # noqa: F811
    *,
    store_id: str,
    apps: dict[str, Any],
    listener: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert credits.call("PUT", "/credits/settings", SETTINGS).status == 200
    offer(placed(store_id, MARIA, "O9"))
    commit = LedgerStore.commit

    def dies_after(self: LedgerStore, state: Any, *args: Any) -> None:
        commit(self, state, *args)
        if state.store_id == store_id:  # other tests' stores share the due index
            raise RuntimeError("the function died here")

    with monkeypatch.context() as patched:
        patched.setattr(LedgerStore, "commit", dies_after)
        with pytest.raises(RuntimeError):
            programmes.grant_due(WHEN + timedelta(days=15))
    publish_changes(apps, store_id)
    events = listener()
    assert [e["detail-type"] for e in events] == ["cashback.pending", "credit.granted"]
    assert events[1]["detail"]["data"]["amount"] == "2.50"


def test_a_retried_or_failed_batch_publishes_the_same_ids_once_it_goes_through(
    credits: Api,  # noqa: F811
    store_id: str,
    apps: dict[str, Any],
    listener: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(2):
        body = {"kind": "manual", "amount": "1.00", "currency": "BRL"}
        headers = {"Idempotency-Key": f"k{n}"}
        assert (
            credits.call("POST", f"/wallets/{MARIA}/credits", body, headers=headers).status == 201
        )
    records = stream_records(store_id)
    entries = [r for r in records if r["dynamodb"]["Keys"]["sk"]["S"].startswith("ENTRY#")]
    with monkeypatch.context() as patched:
        patched.setattr(
            "clientela.events.platform_settings",
            lambda: PlatformSettings(event_bus="no-such-bus"),
        )
        failed = publish_changes(apps, store_id, records)
    # The first record with an event is reported: it and everything after it come again.
    assert failed == {
        "batchItemFailures": [{"itemIdentifier": entries[0]["dynamodb"]["SequenceNumber"]}]
    }
    assert listener() == []
    publish_changes(apps, store_id, records)
    publish_changes(apps, store_id, records)  # a redelivered batch
    ids = [e["detail"]["metadata"]["event_id"] for e in listener()]
    assert len(ids) == 4
    assert len(set(ids)) == 2
