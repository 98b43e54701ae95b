"""Custom attributes keep their type: text, numbers (exact) and booleans (issue 6, item 7)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from clientela.openapi import build_document
from tests.service.conftest import Api
from tests.service.test_customer_events import SCHEMAS, _context, listener, stream_records

__all__ = ["listener"]  # the fixture, shared with the customer events tests

GIVEN = '{"score": 1.5, "visits": 3, "ratio": 0.1, "vip": true, "tier": "gold", "big": 12345678901234567890}'


def test_numbers_stay_numbers_in_answers(api: Api, store_id: str) -> None:
    body = json.loads('{"email": "attrs@example.es", "attributes": ' + GIVEN + "}")
    created = api.call("POST", "/customers", body)
    assert created.status == 201, created.body
    expected = json.loads(GIVEN)
    assert created.body["attributes"] == expected
    shown = api.call("GET", f"/customers/{created.body['id']}")
    assert shown.body["attributes"] == expected
    assert type(shown.body["attributes"]["score"]) is float  # a JSON number, not "1.5"
    assert type(shown.body["attributes"]["visits"]) is int
    assert type(shown.body["attributes"]["vip"]) is bool

    patched = api.call(
        "PATCH", f"/customers/{created.body['id']}", {"attributes": {"score": 2.25, "visits": None}}
    )
    assert patched.status == 200, patched.body
    kept = {k: v for k, v in expected.items() if k != "visits"}
    assert patched.body["attributes"] == {**kept, "score": 2.25}
    listed = api.call("GET", "/customers?q=attrs@example.es").body["items"][0]
    assert listed["attributes"]["score"] == 2.25
    assert "visits" not in listed["attributes"]


def test_numbers_json_cannot_hold_exactly_are_422(api: Api, store_id: str) -> None:
    for value in ("1e300", "123456789012345678901234567890123456789"):
        raw = ('{"email": "too.big@example.es", "attributes": {"n": ' + value + "}}").encode()
        answer = api.call("POST", "/customers", raw=raw)
        assert answer.status == 422, answer.body
        assert [e["field"] for e in answer.body["errors"]] == ["attributes"]


def test_the_api_document_says_attributes_are_numbers(apps: dict[str, Any]) -> None:
    document = build_document([apps["customers"].app])
    customer = document["components"]["schemas"]["Customer"]["properties"]["attributes"]
    kinds = {option["type"] for option in customer["additionalProperties"]["anyOf"]}
    assert {"string", "boolean", "integer", "number"} <= kinds


def test_events_carry_attributes_as_json_numbers(api: Api, apps, store_id, listener) -> None:
    body = json.loads('{"email": "attrs.events@example.es", "attributes": ' + GIVEN + "}")
    created = api.call("POST", "/customers", body).body
    api.call("PATCH", f"/customers/{created['id']}", {"attributes": {"score": 0.3}})

    apps["customers"].publish_customer_changes(
        {"Records": stream_records(store_id)}, _context("publish")
    )

    events = listener()
    assert [e["detail-type"] for e in events] == ["customer.created", "customer.updated"]
    for event in events:
        schema = json.loads((SCHEMAS / f"{event['detail-type']}.v1.json").read_text())
        jsonschema.validate(event["detail"], schema)
    created_data, updated = (e["detail"]["data"] for e in events)
    assert created_data["customer"]["attributes"] == json.loads(GIVEN)
    assert updated["changed"] == ["attributes"]
    assert updated["old"]["attributes"]["score"] == 1.5
    assert updated["new"]["attributes"]["score"] == 0.3
    assert type(updated["new"]["attributes"]["visits"]) is int
