"""The merged OpenAPI document: valid 3.1, complete, and generated from the routes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.app import Chalice
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import BaseModel, ConfigDict, computed_field

from clientela.api import Call, Reply, Service
from clientela.observability import observability
from clientela.openapi import build_document

Document = dict[str, Any]


@pytest.fixture(scope="module")
def service_apps(apps: dict[str, Any]) -> list[Chalice]:
    return [module.app for module in apps.values()]


@pytest.fixture(scope="module")
def document(service_apps: list[Chalice]) -> Document:
    return build_document(service_apps)


def operations(document: Document) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_the_document_is_valid_openapi_3_1(document: Document) -> None:
    assert document["openapi"].startswith("3.1.")
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_route_of_every_app_is_documented_and_nothing_else(
    apps: dict[str, Any], document: Document
) -> None:
    routes = {
        (path, method.lower())
        for module in apps.values()
        for path, methods in module.app.routes.items()
        for method in methods
    }
    documented = {(path, method) for path, method, _ in operations(document)}

    assert len(apps) == 4
    assert routes == documented


def test_operation_ids_are_unique(document: Document) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))


def test_the_document_is_generated_the_same_whatever_the_order(
    service_apps: list[Chalice], document: Document
) -> None:
    again = build_document(list(reversed(service_apps)))

    assert again == document
    assert json.dumps(again) == json.dumps(document)  # key order too: diffs stay readable


def test_each_operation_states_its_security_and_scope(
    apps: dict[str, Any], document: Document
) -> None:
    declared = {
        (doc.path, doc.method.lower()): doc
        for module in apps.values()
        for doc in module.service.docs
    }
    for path, method, operation in operations(document):
        doc = declared[(path, method)]
        if doc.auth:
            assert operation["security"] == [{"bearer": []}]
            assert operation["x-required-scope"] == doc.scope
            assert f"`{doc.scope}`" in operation["description"]
            assert {"401", "403"} <= set(operation["responses"])
        else:
            assert operation["security"] == []
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_error_answer_is_a_problem_document(document: Document) -> None:
    for _, _, operation in operations(document):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert answer["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    assert problem["additionalProperties"] is True


def test_the_customers_operations_document_their_input_and_output(document: Document) -> None:
    create = document["paths"]["/customers"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CustomerCreate"
    }
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Customer"
    }
    assert set(create["responses"]["201"]["headers"]) == {"ETag", "Location"}
    assert [p["name"] for p in create["parameters"]] == ["Idempotency-Key"]

    listing = document["paths"]["/customers"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["in"] == "query"
    assert limit["required"] is False
    assert limit["description"] == "Page size."
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200)

    patch = document["paths"]["/customers/{customer_id}"]["patch"]
    assert set(patch["requestBody"]["content"]) == {
        "application/json",
        "application/merge-patch+json",
    }
    assert {key: value for key, value in patch["parameters"][0].items() if key != "schema"} == {
        "name": "customer_id",
        "in": "path",
        "required": True,
    }
    assert "If-Match" in {p["name"] for p in patch["parameters"]}

    delete = document["paths"]["/customers/{customer_id}"]["delete"]
    assert "content" not in delete["responses"]["204"]


# A made-up service, to pin down how clashing model names and list parameters are documented.


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class Echo(BaseModel):
    text: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def length(self) -> int:
        return len(self.text)


class SearchQuery(BaseModel):
    tag: list[str] = []
    q: str


def other_thing() -> type[BaseModel]:
    class Thing(BaseModel):  # same name as the module-level one, another shape
        size: int

    return Thing


def make_fixture_app() -> Chalice:
    app = Chalice(app_name="clientela-openapi-fixture")
    service = Service(app, "fixture", observability("fixture"))

    @service.route("/things", "POST", summary="Create", body=Thing, response=other_thing())
    def create_thing(call: Call) -> Reply:
        return Reply(200)

    @service.route("/echo", "POST", summary="Echo", body=Echo, response=Echo)
    def echo(call: Call) -> Reply:
        return Reply(200)

    @service.route("/search", "GET", summary="Search", query=SearchQuery, auth=False)
    def search(call: Call) -> Reply:
        return Reply(200)

    return app


def test_models_with_one_name_or_two_modes_never_overwrite_each_other() -> None:
    document = build_document([make_fixture_app()])
    OpenAPIV31SpecValidator(document).validate()
    schemas = document["components"]["schemas"]

    things = [name for name in schemas if "Thing" in name]
    assert len(things) == 2
    assert {frozenset(schemas[name]["properties"]) for name in things} == {
        frozenset({"name"}),
        frozenset({"size"}),
    }
    echo = document["paths"]["/echo"]["post"]
    body_ref = echo["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    answer_ref = echo["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref != answer_ref
    assert "length" in schemas[answer_ref.rsplit("/", 1)[1]]["properties"]
    assert "length" not in schemas[body_ref.rsplit("/", 1)[1]]["properties"]


def test_query_models_become_parameters() -> None:
    document = build_document([make_fixture_app()])
    parameters = {p["name"]: p for p in document["paths"]["/search"]["get"]["parameters"]}

    assert parameters["tag"]["style"] == "form"
    assert parameters["tag"]["explode"] is True
    assert parameters["tag"]["required"] is False
    assert parameters["q"]["required"] is True
    assert "style" not in parameters["q"]
    assert "SearchQuery" not in document["components"]["schemas"]


def test_each_operation_lists_what_the_problem_rule_lets_it_answer(document: Document) -> None:
    # clientela.problems: 404 only for a resource named in the path; 400 (and 413, 415) only
    # where there is a body to read; 422 everywhere (any parameter a route lacks is named).
    for path, method, operation in operations(document):
        statuses = {int(status) for status in operation["responses"]}
        label = f"{method.upper()} {path}"
        assert (404 in statuses) == ("{" in path), label
        assert (400 in statuses) == ("requestBody" in operation), label
        assert ({400, 413, 415} <= statuses) == ("requestBody" in operation), label
        assert 422 in statuses, label
    merge = document["paths"]["/customers/merge"]["post"]["responses"]
    assert "404" not in merge and "422" in merge


def test_a_route_cannot_declare_404_without_a_resource_in_its_path() -> None:
    service = Service(Chalice(app_name="clientela-rule-fixture"), "rule", observability("rule"))

    with pytest.raises(ValueError, match="UnknownReference"):

        @service.route("/merge", "POST", summary="Merge", body=Thing, errors=(404,))
        def merge(call: Call) -> Reply:
            return Reply(200)


def test_what_a_route_creates_links_to_what_takes_its_id(document: Document) -> None:
    created = document["paths"]["/customers"]["post"]["responses"]["201"]["links"]
    assert created["customers_get_customer"] == {
        "operationId": "customers_get_customer",
        "parameters": {"customer_id": "$response.body#/id"},
    }
    assert {
        "customers_update_customer",
        "customers_delete_customer",
        "customers_change_consent",
        "customers_get_timeline",
        "customers_list_customer_orders",
        "credits_get_wallet",
    } <= set(created)
    segment = document["paths"]["/segments"]["post"]["responses"]["201"]["links"]
    assert set(segment) == {
        "customers_get_segment",
        "customers_update_segment",
        "customers_delete_segment",
        "customers_list_segment_customers",
    }
    ids = {operation["operationId"] for _, _, operation in operations(document)}
    for _, _, operation in operations(document):
        for answer in operation["responses"].values():
            assert {link["operationId"] for link in answer.get("links", {}).values()} <= ids


def test_credits_creations_link_to_what_takes_them(document: Document) -> None:
    """A coupon is named by its code, a referrer by its customer, a referral by its id: each
    link reads the created thing from the answer's field that holds it."""
    coupon = document["paths"]["/coupons"]["post"]["responses"]["201"]["links"]
    assert coupon["credits_get_coupon"]["parameters"] == {"code": "$response.body#/code"}
    assert "credits_redeem_coupon" in coupon
    referrer = document["paths"]["/referrers"]["post"]["responses"]["201"]["links"]
    assert referrer["credits_get_referrer"]["parameters"] == {
        "customer_id": "$response.body#/customer_id"
    }
    referral = document["paths"]["/referrals"]["post"]["responses"]["201"]["links"]
    assert {"credits_get_referral", "credits_approve_referral", "credits_void_referral"} <= set(
        referral
    )
    assert referral["credits_get_referral"]["parameters"] == {"referral_id": "$response.body#/id"}
