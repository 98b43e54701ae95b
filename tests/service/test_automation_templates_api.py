"""Templates over HTTP against moto: CRUD with If-Match, built-ins read-only and copied,
refused constructs named, previews with a customer or sample data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.service.automation_mail import created, customer, invoke, sqs_record
from tests.service.conftest import Api

TEMPLATE = {
    "name": "Promo",
    "default_language": "en",
    "contents": {
        "en": {
            "subject": "Hello {{ customer.first_name }}",
            "html": "<p>Hi {{ customer.first_name }}</p>",
        },
        "pt-BR": {
            "subject": "Olá {{ customer.first_name }}",
            "html": "<p>Oi {{ customer.first_name }}</p>",
            "text": "Oi {{ customer.first_name }}",
        },
    },
}


@pytest.fixture
def api(apps: dict[str, Any], headers: dict[str, str]) -> Iterator[Api]:
    with Client(apps["automation"].app) as client:
        yield Api(client, headers)


def test_a_template_is_created_read_replaced_and_deleted_with_if_match(api: Api) -> None:
    made = api.call("POST", "/templates", TEMPLATE)
    assert made.status == 201, made.body
    template_id = made.body["id"]
    assert made.headers["etag"] == '"1"'

    assert api.call("GET", f"/templates/{template_id}").body["contents"]["pt-BR"]["text"]
    changed = {**TEMPLATE, "name": "Promo 2"}
    assert api.call("PUT", f"/templates/{template_id}", changed).status == 428
    stale = api.call("PUT", f"/templates/{template_id}", changed, headers={"if-match": '"7"'})
    assert (stale.status, stale.body["current_version"]) == (412, 1)
    done = api.call("PUT", f"/templates/{template_id}", changed, headers={"if-match": '"1"'})
    assert (done.status, done.body["name"], done.body["version"]) == (200, "Promo 2", 2)
    again = api.call("PUT", f"/templates/{template_id}", changed, headers={"if-match": '"1"'})
    assert again.status == 412

    listed = {t["id"] for t in api.call("GET", "/templates").body["items"]}
    assert template_id in listed and "builtin-abandoned-cart" in listed
    assert (
        api.call("DELETE", f"/templates/{template_id}", headers={"if-match": '"2"'}).status == 204
    )
    assert api.call("GET", f"/templates/{template_id}").status == 404


def test_built_in_templates_are_read_only_and_copied_to_change(api: Api) -> None:
    builtin = api.call("GET", "/templates/builtin-abandoned-cart").body
    assert set(builtin["contents"]) == {"pt-BR", "es", "it", "en"}
    assert builtin["variables"] == ["cart"]
    refused = api.call(
        "PUT", "/templates/builtin-abandoned-cart", TEMPLATE, headers={"if-match": "*"}
    )
    assert refused.status == 409

    copy = api.call("POST", "/templates", {"from_builtin": "builtin-welcome", "name": "Mine"})
    assert (copy.status, copy.body["builtin"], copy.body["name"]) == (201, False, "Mine")
    unknown = api.call("POST", "/templates", {"from_builtin": "builtin-nope"})
    assert unknown.status == 422
    assert unknown.body["errors"][0]["field"] == "from_builtin"


@pytest.mark.parametrize(
    "html",
    [
        "{% macro m() %}x{% endmacro %}",
        "{% include 'other' %}",
        "{% for a in x %}{% for b in a %}{% for c in b %}{% endfor %}{% endfor %}{% endfor %}",
        "{% for a in x recursive %}{{ loop(a) }}{% endfor %}",
        "{{ unclosed",
    ],
)
def test_a_template_doing_what_templates_may_not_is_refused_naming_the_part(
    api: Api, html: str
) -> None:
    body = {"name": "Bad", "contents": {"en": {"subject": "s", "html": html}}}

    answer = api.call("POST", "/templates", body)

    assert answer.status == 422
    assert answer.body["errors"][0]["field"] == "contents.en.html"


def test_preview_with_a_customer_picks_their_language(api: Api, apps, store_id) -> None:
    made = api.call("POST", "/templates", TEMPLATE).body
    profile = customer("CPREVIEW1", first_name="<b>Zé</b>", language="pt-BR")
    invoke(apps["automation"], "on_contact_event", sqs_record(created(store_id, profile)))

    answer = api.call("POST", f"/templates/{made['id']}/preview", {"customer_id": "CPREVIEW1"})

    assert answer.status == 200, answer.body
    assert answer.body["subject"] == "Olá <b>Zé</b>"  # the subject is text, not HTML
    assert answer.body["html"] == "<p>Oi &lt;b&gt;Zé&lt;/b&gt;</p>"
    assert answer.body["language"] == "pt-BR"


def test_preview_with_sample_data_and_its_refusals(api: Api) -> None:
    sample = api.call("POST", "/templates/builtin-abandoned-cart/preview", {"language": "es"})
    assert sample.status == 200
    assert "Tênis de corrida" in sample.body["html"] and "Tênis de corrida" in sample.body["text"]
    assert sample.body["subject"].startswith("Olvidaste algo")

    made = api.call(
        "POST",
        "/templates",
        {"name": "T", "contents": {"en": {"subject": "s", "html": "{{ coupon.code }}"}}},
    ).body
    missing = api.call("POST", f"/templates/{made['id']}/preview", {})
    assert (missing.status, missing.body["detail"]) == (422, "missing_variable")
    unknown = api.call("POST", f"/templates/{made['id']}/preview", {"customer_id": "nobody"})
    assert (unknown.status, unknown.body["errors"][0]["field"]) == (422, "customer_id")
    assert api.call("POST", "/templates/nope/preview", {}).status == 404
