"""segment.entered / segment.exited: the customers table stream judged against saved segments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from chalicelib.customers.segments import usecases as segment_usecases
from tests.service.conftest import Api
from tests.service.test_customer_events import _context, listener, stream_records
from tests.service.test_orders_api import line, order

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas"
__all__ = ["listener"]


@pytest.fixture(autouse=True)
def _fresh_catalogs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test's store is new; the publisher's per-store cache must not outlive the test run.
    monkeypatch.setattr(segment_usecases, "_catalogs", {})


def _publish(apps: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = apps["customers"].publish_customer_changes(
        {"Records": records}, _context("publish")
    )
    return result


def _memberships(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (e["detail-type"], e["detail"]["data"]["segment_id"], e["detail"]["data"]["customer_id"])
        for e in events
        if e["detail-type"].startswith("segment.")
    ]


def test_a_change_that_makes_a_customer_match_publishes_entered_then_exited(
    api: Api, apps: dict[str, Any], store_id: str, listener: Any
) -> None:
    vip = api.call("POST", "/segments", {"name": "VIP", "filter": {"tag": ["vip"]}}).body
    spain = api.call("POST", "/segments", {"name": "Spain", "filter": {"country": "ES"}}).body
    customer = api.call("POST", "/customers", {"email": "ana@example.es", "country": "PT"}).body
    api.call("PATCH", f"/customers/{customer['id']}", {"tags": ["vip"]})
    api.call("PATCH", f"/customers/{customer['id']}", {"first_name": "Ana"})  # still VIP
    api.call("PATCH", f"/customers/{customer['id']}", {"tags": [], "country": "ES"})
    api.call("DELETE", f"/customers/{customer['id']}")

    assert _publish(apps, stream_records(store_id)) == {"batchItemFailures": []}

    events = listener()
    cid = customer["id"]
    assert _memberships(events) == [
        ("segment.entered", vip["id"], cid),
        ("segment.exited", vip["id"], cid),
        ("segment.entered", spain["id"], cid),
        ("segment.exited", spain["id"], cid),
    ]
    for event in events:
        schema = json.loads((SCHEMAS / f"{event['detail-type']}.v1.json").read_text())
        jsonschema.validate(event["detail"], schema)
    assert "ana@" not in json.dumps([e for e in events if e["detail-type"].startswith("segment.")])


def test_a_new_customer_who_matches_enters_and_a_redelivered_record_has_the_same_id(
    api: Api, apps: dict[str, Any], store_id: str, listener: Any
) -> None:
    segment = api.call("POST", "/segments", {"name": "Italy", "filter": {"country": "IT"}}).body
    api.call("POST", "/customers", {"email": "eva@example.it", "country": "IT"})
    records = stream_records(store_id)

    _publish(apps, records)
    _publish(apps, records)  # the stream hands the same batch again after a failure

    entered = [e for e in listener() if e["detail-type"] == "segment.entered"]
    assert [e["detail"]["data"]["segment_id"] for e in entered] == [segment["id"]] * 2
    assert len({e["detail"]["metadata"]["event_id"] for e in entered}) == 1


def test_orders_move_customers_into_spending_segments(
    api: Api, apps: dict[str, Any], store_id: str, listener: Any
) -> None:
    """Order aggregates change the customer item without a new profile version: still judged."""
    big = api.call("POST", "/segments", {"name": "Big", "filter": {"spent_min": "100"}}).body
    customer = api.call("POST", "/customers", {"email": "leo@example.it"}).body
    placed = order(
        "A-1",
        email="leo@example.it",
        customer_id=customer["id"],
        total="150.00",
        items=[line(unit_price="150.00")],
    )
    answer = api.call("POST", "/orders", {"orders": [placed]})
    assert answer.status == 200, answer.body

    _publish(apps, stream_records(store_id))

    assert _memberships(listener()) == [("segment.entered", big["id"], customer["id"])]


def test_a_store_without_saved_segments_publishes_no_membership_events(
    api: Api, apps: dict[str, Any], store_id: str, listener: Any
) -> None:
    customer = api.call("POST", "/customers", {"email": "ugo@example.it"}).body
    api.call("PATCH", f"/customers/{customer['id']}", {"tags": ["vip"]})

    _publish(apps, stream_records(store_id))

    assert _memberships(listener()) == []
