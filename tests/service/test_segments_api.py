"""Segments over HTTP, in-process, against moto provisioned from infra/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.customers import keys
from chalicelib.customers.settings import settings
from clientela import aws
from tests.conftest import token_for
from tests.service.conftest import Api

BUILT_INS = [
    "new",
    "active_buyers",
    "top_spenders",
    "at_risk",
    "never_purchased",
    "email_subscribers",
]


def orders(
    store_id: str, customer_id: str, count: int, spent: str, last_days_ago: int | None
) -> None:
    """Order aggregates on the customer item, written the way the orders code writes them."""
    last = datetime.now(UTC) - timedelta(days=last_days_ago) if last_days_ago is not None else None
    values: dict[str, Any] = {
        ":n": count,
        ":s": Decimal(spent),
        ":lok": keys.stamp(last) if last else "0",
    }
    expression = "SET orders_count = :n, total_spent = :s, last_order_key = :lok"
    if last:
        expression += ", last_order_at = :lo, first_order_at = :lo"
        values[":lo"] = keys.stamp(last)
    serializer = TypeSerializer()
    aws.dynamodb().update_item(
        TableName=settings().table,
        Key=keys.entity_key(store_id, keys.customer_sk(customer_id)),
        UpdateExpression=expression,
        ExpressionAttributeValues={k: serializer.serialize(v) for k, v in values.items()},
    )


def create(api: Api, **profile: Any) -> str:
    answer = api.call("POST", "/customers", profile)
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


@pytest.fixture
def shop(api: Api, store_id: str) -> dict[str, str]:
    """Three customers: a newcomer subscribed to e-mail, a big regular, a lapsed buyer."""
    newcomer = create(
        api,
        email="new@example.com",
        tags=["vip"],
        email_consent={"state": "subscribed", "opt_in_level": "confirmed", "source": "signup"},
    )
    regular = create(api, email="regular@example.com", country="ES", tags=["vip"])
    lapsed = create(api, email="lapsed@example.com", country="ES")
    orders(store_id, regular, 6, "1500.00", 5)
    orders(store_id, lapsed, 3, "120.00", 200)
    return {"newcomer": newcomer, "regular": regular, "lapsed": lapsed}


def counts(api: Api) -> dict[str, int]:
    answer = api.call("GET", "/segments")
    assert answer.status == 200
    return {s["id"]: s["count"] for s in answer.body["items"]}


def test_a_new_store_has_the_built_in_segments_with_default_parameters(api: Api) -> None:
    answer = api.call("GET", "/segments")

    assert answer.status == 200
    items = answer.body["items"]
    assert [s["id"] for s in items] == BUILT_INS
    assert all(s["kind"] == "built_in" and s["count"] == 0 for s in items)
    params = {s["id"]: s["parameters"] for s in items}
    assert params["new"]["days"] == 30
    assert params["at_risk"] == {"days": 90, "orders_min": 2, "spent_min": None}
    assert Decimal(params["top_spenders"]["spent_min"]) == 1000
    assert items[0]["filter"]["created_from"]  # computed from now
    assert api.call("GET", "/segments?count=false").body["items"][0]["count"] is None


def test_built_in_counts_and_profile_segments(api: Api, shop: dict[str, str]) -> None:
    assert counts(api) == {
        "new": 3,
        "active_buyers": 1,
        "top_spenders": 1,
        "at_risk": 1,
        "never_purchased": 1,
        "email_subscribers": 1,
    }
    profile = api.call("GET", f"/customers/{shop['regular']}").body
    assert [s["id"] for s in profile["segments"]] == ["new", "active_buyers", "top_spenders"]
    lapsed = api.call("GET", f"/customers/{shop['lapsed']}").body
    assert [s["id"] for s in lapsed["segments"]] == ["new", "at_risk"]


def test_changing_a_built_in_s_parameters_changes_who_is_in_it(
    api: Api, shop: dict[str, str]
) -> None:
    answer = api.call("PATCH", "/segments/top_spenders", {"parameters": {"spent_min": "100"}})

    assert answer.status == 200
    assert Decimal(answer.body["parameters"]["spent_min"]) == 100
    assert answer.body["filter"]["spent_min"] == "100"
    assert answer.headers["etag"] == '"1"'
    assert api.call("GET", "/segments/top_spenders").body["count"] == 2

    days = api.call(
        "PATCH", "/segments/at_risk", {"parameters": {"days": 365}}, headers={"if-match": '"1"'}
    )
    assert days.status == 200
    assert api.call("GET", "/segments/at_risk").body["count"] == 0
    stale = api.call(
        "PATCH", "/segments/new", {"parameters": {"days": 5}}, headers={"if-match": '"1"'}
    )
    assert stale.status == 412
    assert api.call("GET", "/segments/new").body["parameters"]["days"] == 30


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/segments/new", {"parameters": {"days": 0}}, 422, "parameters.days"),
        ("/segments/new", {"parameters": {"days": 400}}, 422, "parameters.days"),
        ("/segments/new", {"parameters": {"spent_min": 5}}, 422, "parameters.spent_min"),
        ("/segments/never_purchased", {"parameters": {"days": 3}}, 422, "parameters.days"),
        ("/segments/top_spenders", {"parameters": {"spent_min": "1.001"}}, 422, None),
        ("/segments/new", {"name": "Fresh"}, 409, "name"),
        ("/segments/new", {"filter": {"country": "ES"}}, 409, "filter"),
        ("/segments/new", {}, 422, None),
        ("/segments/new", {"parameters": None}, 422, "parameters"),
    ],
)
def test_built_in_segments_refuse_what_they_cannot_take(
    api: Api, path: str, body: dict[str, Any], status: int, field: str | None
) -> None:
    answer = api.call("PATCH", path, body)

    assert answer.status == status
    assert answer.headers["content-type"] == "application/problem+json"
    if field:
        assert field in [e["field"] for e in answer.body["errors"]]
    assert api.call("GET", "/segments/new").body["parameters"]["days"] == 30


def test_save_list_rename_refilter_and_delete_a_segment(api: Api, shop: dict[str, str]) -> None:
    created = api.call(
        "POST",
        "/segments",
        {"name": "  VIP  in Spain ", "filter": {"tag": ["VIP"], "country": "es"}},
    )

    assert created.status == 201
    segment = created.body
    assert (segment["name"], segment["kind"], segment["version"]) == ("VIP in Spain", "saved", 1)
    assert segment["filter"]["tag"] == ["vip"]
    assert segment["filter"]["country"] == "ES"
    assert created.headers["location"] == f"/segments/{segment['id']}"
    assert created.headers["etag"] == '"1"'
    listed = api.call("GET", "/segments").body["items"]
    assert [s["id"] for s in listed] == [*BUILT_INS, segment["id"]]
    assert listed[-1]["count"] == 1

    renamed = api.call(
        "PATCH",
        f"/segments/{segment['id']}",
        {"name": "Spain", "filter": {"country": "ES"}},
        headers={"if-match": '"1"'},
    )
    assert renamed.status == 200
    assert (renamed.body["name"], renamed.body["version"]) == ("Spain", 2)
    assert api.call("GET", f"/segments/{segment['id']}").body["count"] == 2
    profile = api.call("GET", f"/customers/{shop['lapsed']}").body
    assert {"id": segment["id"], "name": "Spain"} in profile["segments"]
    stale = api.call(
        "PATCH", f"/segments/{segment['id']}", {"name": "Other"}, headers={"if-match": '"1"'}
    )
    assert stale.status == 412
    assert stale.body["current_version"] == 2

    # The old name is free again, the new one taken.
    assert api.call("POST", "/segments", {"name": "vip in spain"}).status == 201
    assert api.call("POST", "/segments", {"name": "SPAIN"}).status == 409

    assert api.call("DELETE", f"/segments/{segment['id']}").status == 204
    assert api.call("GET", f"/segments/{segment['id']}").status == 404
    assert api.call("DELETE", f"/segments/{segment['id']}").status == 404
    assert api.call("POST", "/segments", {"name": "Spain"}).status == 201


def test_names_are_unique_per_store_without_case(
    api: Api, customers_client: Any, store_id: str
) -> None:
    first = api.call("POST", "/segments", {"name": "Winback"}).body

    again = api.call("POST", "/segments", {"name": "WINBACK", "filter": {"favorite": True}})
    builtin = api.call("POST", "/segments", {"name": "top spenders"})
    other_store = Api(customers_client, {"authorization": f"Bearer {token_for(store_id + '-b')}"})

    assert again.status == 409
    assert again.body["existing_segment_id"] == first["id"]
    assert "name" in [e["field"] for e in again.body["errors"]]
    assert builtin.status == 409
    assert builtin.body["existing_segment_id"] == "top_spenders"
    assert other_store.call("POST", "/segments", {"name": "Winback"}).status == 201
    assert other_store.call("GET", f"/segments/{first['id']}").status == 404
    assert other_store.call("DELETE", f"/segments/{first['id']}").status == 404


def test_built_in_segments_cannot_be_deleted(api: Api) -> None:
    answer = api.call("DELETE", "/segments/new")

    assert answer.status == 409
    assert [s["id"] for s in api.call("GET", "/segments").body["items"]] == BUILT_INS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "ok", "filter": {"colour": "red"}}, "filter.colour"),
        ({"name": "ok", "filter": {"orders_min": -1}}, "filter.orders_min"),
        ({"name": "ok", "filter": {"country": "XX"}}, "filter.country"),
        (
            {"name": "ok", "filter": {"created_from": "2026-02-01", "created_to": "2026-01-01"}},
            "filter.created_from",
        ),
        ({"name": "ok", "parameters": {"days": 3}}, "parameters"),
    ],
)
def test_bad_segments_are_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    answer = api.call("POST", "/segments", body)

    assert answer.status == 422
    assert field in [e["field"] for e in answer.body["errors"]]
    assert [s["id"] for s in api.call("GET", "/segments").body["items"]] == BUILT_INS


def test_parameters_belong_to_built_ins_only(api: Api) -> None:
    saved = api.call("POST", "/segments", {"name": "Mine"}).body

    answer = api.call("PATCH", f"/segments/{saved['id']}", {"parameters": {"days": 3}})

    assert answer.status == 422
    assert "parameters" in [e["field"] for e in answer.body["errors"]]


def test_a_segment_s_customers_page_by_page(api: Api, store_id: str) -> None:
    ids = [create(api, email=f"c{i}@example.com", tags=["club"]) for i in range(5)]
    create(api, email="outsider@example.com")
    segment = api.call("POST", "/segments", {"name": "Club", "filter": {"tag": ["club"]}}).body

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        path = f"/segments/{segment['id']}/customers?limit=2"
        answer = api.call("GET", path + (f"&cursor={cursor}" if cursor else ""))
        assert answer.status == 200
        seen += [c["id"] for c in answer.body["items"]]
        cursor = answer.body["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(ids))  # newest first
    first = api.call("GET", f"/segments/{segment['id']}/customers?limit=2").body
    other = api.call("GET", f"/segments/new/customers?cursor={first['next_cursor']}")
    assert other.status == 422
    assert other.body["errors"][0]["field"] == "cursor"
    sorted_page = api.call("GET", f"/segments/{segment['id']}/customers?sort=name&limit=10").body
    assert sorted_page["sort"] == "name"
    assert len(sorted_page["items"]) == 5
    assert api.call("GET", "/segments/nope/customers").status == 404
    assert api.call("GET", f"/segments/{segment['id']}/customers?limit=0").status == 422


def test_a_cursor_ends_when_the_segment_changes(api: Api) -> None:
    for i in range(3):
        create(api, email=f"m{i}@example.com", favorite=True)
    segment = api.call("POST", "/segments", {"name": "Favs", "filter": {"favorite": True}}).body
    first = api.call("GET", f"/segments/{segment['id']}/customers?limit=1").body

    api.call("PATCH", f"/segments/{segment['id']}", {"filter": {"favorite": True, "country": "ES"}})

    answer = api.call("GET", f"/segments/{segment['id']}/customers?cursor={first['next_cursor']}")
    assert answer.status == 422


UNSEARCHABLE = [" ", "   ", "\t", ",", "...", "-", "\u0301\u0300", "\u200b", "+"]


@pytest.mark.parametrize("text", UNSEARCHABLE)
@pytest.mark.parametrize("name", ["q", "city"])
def test_a_segment_cannot_be_saved_with_a_text_filter_that_cannot_run(
    api: Api, name: str, text: str
) -> None:
    answer = api.call("POST", "/segments", {"name": "Blank", "filter": {name: text}})

    assert answer.status == 422, answer.body
    assert [e["field"] for e in answer.body["errors"]] == [f"filter.{name}"]
    saved = api.call("POST", "/segments", {"name": "Fine", "filter": {"q": "ana"}}).body
    refilter = api.call("PATCH", f"/segments/{saved['id']}", {"filter": {name: text}})
    assert refilter.status == 422
    assert [e["field"] for e in refilter.body["errors"]] == [f"filter.{name}"]
    listed = api.call("GET", "/segments")
    assert listed.status == 200
    assert [s["filter"]["q"] for s in listed.body["items"] if s["kind"] == "saved"] == ["ana"]


@pytest.mark.parametrize(
    ("filter_", "field"),
    [
        ({"tag": [" "]}, "filter.tag"),
        ({"q": "x" * 101}, "filter.q"),
        ({"city": "x" * 101}, "filter.city"),
    ],
)
def test_blank_tags_and_overlong_text_filters_are_refused(
    api: Api, filter_: dict[str, Any], field: str
) -> None:
    answer = api.call("POST", "/segments", {"name": "Bad", "filter": filter_})

    assert answer.status == 422
    assert [e["field"] for e in answer.body["errors"]] == [field]


def legacy_segment(api: Api, store_id: str, name: str, stored_filter: dict[str, Any]) -> str:
    """A saved segment whose stored filter the rules now refuse, as one saved before them."""
    segment_id = str(api.call("POST", "/segments", {"name": name}).body["id"])
    aws.dynamodb().update_item(
        TableName=settings().table,
        Key={"pk": {"S": keys.store_pk(store_id)}, "sk": {"S": keys.SEGMENT_PREFIX + segment_id}},
        UpdateExpression="SET #f = :f",
        ExpressionAttributeNames={"#f": "filter"},
        ExpressionAttributeValues={":f": TypeSerializer().serialize(stored_filter)},
    )
    return segment_id


def test_a_legacy_segment_that_cannot_run_never_breaks_the_store(
    api: Api, store_id: str, shop: dict[str, str]
) -> None:
    good = api.call("POST", "/segments", {"name": "Spain", "filter": {"country": "ES"}}).body
    bad = legacy_segment(api, store_id, "Blank search", {"q": " ", "country": "ES"})

    listed = api.call("GET", "/segments")

    assert listed.status == 200, listed.body
    by_id = {s["id"]: s for s in listed.body["items"]}
    assert by_id[good["id"]]["count"] == 2
    assert by_id[good["id"]]["problem"] is None
    assert by_id["never_purchased"]["count"] == 1
    assert by_id[bad]["count"] is None
    problem = by_id[bad]["problem"]
    assert problem["type"] == "invalid-filter"
    assert [e["field"] for e in problem["errors"]] == ["filter.q"]
    # What can still be read of it.
    assert {k: v for k, v in by_id[bad]["filter"].items() if v not in (None, "any")} == {
        "country": "ES"
    }
    uncounted = {s["id"]: s for s in api.call("GET", "/segments?count=false").body["items"]}
    assert uncounted[bad]["problem"]["type"] == "invalid-filter"
    assert uncounted[good["id"]]["problem"] is None

    one = api.call("GET", f"/segments/{bad}")
    assert one.status == 409
    assert one.headers["content-type"] == "application/problem+json"
    assert one.body["type"].endswith("/segment-filter-invalid")
    assert [e["field"] for e in one.body["errors"]] == ["filter.q"]
    assert api.call("GET", f"/segments/{bad}?count=false").status == 200
    members = api.call("GET", f"/segments/{bad}/customers")
    assert members.status == 409
    assert [e["field"] for e in members.body["errors"]] == ["filter.q"]

    # The profile still lists the segments its customer is in, without the broken one.
    profile = api.call("GET", f"/customers/{shop['regular']}")
    assert profile.status == 200
    assert good["id"] in [s["id"] for s in profile.body["segments"]]
    assert bad not in [s["id"] for s in profile.body["segments"]]

    # A rename alone would keep a filter that cannot run: a new filter is needed.
    renamed = api.call("PATCH", f"/segments/{bad}", {"name": "Still blank"})
    assert renamed.status == 409
    assert [e["field"] for e in renamed.body["errors"]] == ["filter.q"]
    bulk = api.call(
        "POST", "/customers/bulk", {"action": "favorite", "target": {"segment_id": bad}}
    )
    assert bulk.status == 422
    assert [e["field"] for e in bulk.body["errors"]] == ["target.segment_id"]

    fixed = api.call("PATCH", f"/segments/{bad}", {"filter": {"q": "regular"}})
    assert fixed.status == 200
    assert fixed.body["problem"] is None
    assert api.call("GET", f"/segments/{bad}").body["count"] == 1


def test_a_legacy_segment_can_be_deleted(api: Api, store_id: str) -> None:
    bad = legacy_segment(api, store_id, "Dots", {"city": "..."})

    assert api.call("DELETE", f"/segments/{bad}").status == 204
    assert [s["id"] for s in api.call("GET", "/segments").body["items"]] == BUILT_INS


def test_a_segment_whose_count_fails_is_listed_without_its_count(
    api: Api, apps: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.customers.segments import usecases as segment_usecases

    api.call("POST", "/segments", {"name": "Spain", "filter": {"country": "ES"}})
    real = segment_usecases.count_members

    def flaky(store_id: str, segment: Any, now: datetime) -> int:
        if segment.id == "top_spenders":
            raise RuntimeError("the index is unavailable")
        return real(store_id, segment, now)

    monkeypatch.setattr(segment_usecases, "count_members", flaky)

    listed = api.call("GET", "/segments")

    assert listed.status == 200
    by_id = {s["id"]: s for s in listed.body["items"]}
    assert by_id["top_spenders"]["count"] is None
    assert by_id["top_spenders"]["problem"]["type"] == "count-failed"
    assert all(s["count"] == 0 for i, s in by_id.items() if i != "top_spenders")
