"""The customers HTTP API, in-process, against moto provisioned from infra/."""

from __future__ import annotations

import pytest

from tests.conftest import token_for
from tests.service.conftest import Api

MARIA = {
    "email": "  Maria.Garcia@Example.ES ",
    "phone": "612 34 56 78",
    "first_name": "María José",
    "last_name": "García Núñez",
    "city": "Sevilla",
    "country": "es",
    "tags": ["VIP", " newsletter ", "vip"],
}


def test_create_normalises_and_answers_with_the_profile(api: Api) -> None:
    answer = api.call("POST", "/customers", MARIA)

    assert answer.status == 201
    body = answer.body
    assert body["email"] == "maria.garcia@example.es"
    assert body["phone"] == "+34612345678"
    assert body["first_name"] == "María José"
    assert body["country"] == "ES"
    assert body["tags"] == ["newsletter", "vip"]
    assert body["version"] == 1
    assert answer.headers["etag"] == '"1"'
    assert answer.headers["location"] == f"/customers/{body['id']}"
    assert api.call("GET", f"/customers/{body['id']}").body == body


def test_names_keep_any_script(api: Api) -> None:
    answer = api.call(
        "POST", "/customers", {"email": "li@example.cn", "first_name": "李", "last_name": "小龍"}
    )
    assert answer.status == 201
    assert (answer.body["first_name"], answer.body["last_name"]) == ("李", "小龍")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"phone": "98765-4321"}, "phone"),
        ({"first_name": "Ana"}, "email"),
        ({}, "phone"),
        ({"email": "a@example.com", "country": "XX"}, "country"),
        ({"email": "a@example.com", "tags": "vip"}, "tags"),
        ({"email": "a@example.com", "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "id"),
        ({"email": "a@example.com", "version": 7}, "version"),
        ({"email": "a@example.com", "first_name": ""}, "first_name"),
        ({"email": "a@example.com", "first_name": "x" * 101}, "first_name"),
    ],
)
def test_bad_input_is_422_naming_the_field(api: Api, body: dict[str, object], field: str) -> None:
    answer = api.call("POST", "/customers", body)

    assert answer.status == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.body["status"] == 422
    assert answer.body["type"].startswith("https://clientela.dev/problems/")
    assert field in [error["field"] for error in answer.body["errors"]]
    assert all(error["reason"] for error in answer.body["errors"])
    assert api.call("GET", "/customers").body["items"] == []


def test_malformed_json_is_400_and_oversized_body_is_413(api: Api) -> None:
    assert api.call("POST", "/customers", raw=b"{not json").status == 400
    assert api.call("POST", "/customers", raw=b"[1, 2]").status == 422
    assert api.call("POST", "/customers", raw=b'{"email": NaN}').status == 400
    huge = b'{"email": "a@example.com", "first_name": "' + b"x" * 70_000 + b'"}'
    answer = api.call("POST", "/customers", raw=huge)
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert api.call("GET", "/customers").body["items"] == []


def test_email_is_unique_per_store(api: Api) -> None:
    first = api.call("POST", "/customers", {"email": "ana@example.com"}).body

    answer = api.call("POST", "/customers", {"email": "ANA@example.com", "first_name": "Ana"})

    assert answer.status == 409
    assert answer.body["existing_customer_id"] == first["id"]
    assert [c["id"] for c in api.call("GET", "/customers").body["items"]] == [first["id"]]


def test_the_same_email_in_two_stores_is_two_customers(
    api: Api, customers_client, store_id: str
) -> None:
    other = Api(customers_client, {"authorization": f"Bearer {token_for(store_id + '-other')}"})
    assert api.call("POST", "/customers", {"email": "same@example.com"}).status == 201
    assert other.call("POST", "/customers", {"email": "same@example.com"}).status == 201


def test_another_store_sees_nothing(api: Api, customers_client) -> None:
    mine = api.call("POST", "/customers", {"email": "mine@example.com"}).body
    intruder = Api(customers_client, {"authorization": f"Bearer {token_for('store-intruder')}"})

    assert intruder.call("GET", f"/customers/{mine['id']}").status == 404
    assert intruder.call("PATCH", f"/customers/{mine['id']}", {"city": "Roma"}).status == 404
    assert intruder.call("DELETE", f"/customers/{mine['id']}").status == 404
    assert mine["id"] not in [c["id"] for c in intruder.call("GET", "/customers").body["items"]]
    assert api.call("GET", f"/customers/{mine['id']}").body == mine


def test_patch_is_a_merge_patch_and_bumps_the_version(api: Api) -> None:
    created = api.call("POST", "/customers", MARIA).body

    answer = api.call(
        "PATCH",
        f"/customers/{created['id']}",
        {"city": "Málaga", "phone": None},
        headers={"if-match": '"1"'},
    )

    assert answer.status == 200
    assert answer.body["city"] == "Málaga"
    assert answer.body["phone"] is None
    assert answer.body["email"] == created["email"]
    assert answer.body["version"] == 2
    assert answer.headers["etag"] == '"2"'


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    created = api.call("POST", "/customers", MARIA).body
    api.call("PATCH", f"/customers/{created['id']}", {"city": "Cádiz"})

    answer = api.call(
        "PATCH", f"/customers/{created['id']}", {"city": "Granada"}, headers={"if-match": '"1"'}
    )

    assert answer.status == 412
    assert answer.body["current_version"] == 2
    assert api.call("GET", f"/customers/{created['id']}").body["city"] == "Cádiz"


def test_patch_cannot_remove_the_last_contact(api: Api) -> None:
    created = api.call("POST", "/customers", {"email": "only@example.com"}).body

    answer = api.call("PATCH", f"/customers/{created['id']}", {"email": None})

    assert answer.status == 422
    assert api.call("GET", f"/customers/{created['id']}").body["email"] == "only@example.com"


def test_changing_email_frees_the_old_one(api: Api) -> None:
    created = api.call("POST", "/customers", {"email": "old@example.com"}).body
    api.call("PATCH", f"/customers/{created['id']}", {"email": "new@example.com"})

    assert api.call("POST", "/customers", {"email": "old@example.com"}).status == 201
    assert api.call("POST", "/customers", {"email": "new@example.com"}).status == 409


def test_delete_honours_if_match(api: Api) -> None:
    created = api.call("POST", "/customers", {"email": "gone@example.com"}).body

    assert (
        api.call("DELETE", f"/customers/{created['id']}", headers={"if-match": '"9"'}).status == 412
    )
    assert (
        api.call("DELETE", f"/customers/{created['id']}", headers={"if-match": '"1"'}).status == 204
    )
    assert api.call("GET", f"/customers/{created['id']}").status == 404
    assert api.call("DELETE", f"/customers/{created['id']}").status == 404
    assert api.call("POST", "/customers", {"email": "gone@example.com"}).status == 201


def test_list_is_newest_first_with_a_cursor(api: Api) -> None:
    ids = [
        api.call("POST", "/customers", {"email": f"c{i}@example.com"}).body["id"] for i in range(5)
    ]

    first = api.call("GET", "/customers?limit=2").body
    second = api.call("GET", f"/customers?limit=2&cursor={first['next_cursor']}").body
    third = api.call("GET", f"/customers?limit=2&cursor={second['next_cursor']}").body

    seen = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert seen == list(reversed(ids))
    assert third["next_cursor"] is None


def test_a_tampered_or_foreign_cursor_is_422_naming_it(api: Api, customers_client) -> None:
    for i in range(3):
        api.call("POST", "/customers", {"email": f"t{i}@example.com"})
    cursor = api.call("GET", "/customers?limit=1").body["next_cursor"]
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    other = Api(customers_client, {"authorization": f"Bearer {token_for('store-cursor-thief')}"})

    for answer in (
        api.call("GET", f"/customers?cursor={tampered}"),
        other.call("GET", f"/customers?cursor={cursor}"),
    ):
        assert answer.status == 422
        assert answer.body["errors"][0]["pointer"] == "/cursor"


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=ten", "color=red"])
def test_bad_query_parameters_are_422_naming_them(api: Api, query: str) -> None:
    answer = api.call("GET", f"/customers?{query}")
    assert answer.status == 422
    assert answer.body["errors"][0]["field"] in ("limit", "color")


def test_idempotency_key_replays_the_first_answer(api: Api) -> None:
    key = {"idempotency-key": "order-sync-42"}
    first = api.call("POST", "/customers", {"email": "retry@example.com"}, headers=key)
    again = api.call("POST", "/customers", {"email": "retry@example.com"}, headers=key)
    other = api.call("POST", "/customers", {"email": "someone-else@example.com"}, headers=key)

    assert first.status == again.status == 201
    assert again.body == first.body
    assert other.status == 422
    assert other.body["errors"][0]["field"] == "Idempotency-Key"
    assert len(api.call("GET", "/customers").body["items"]) == 1


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic abc", "Bearer not.a.jwt", "expired", "bad-signature", "no-store"],
)
def test_bad_tokens_are_refused_by_the_authorizer(
    customers_client, authorization: str | None
) -> None:
    import jwt

    from clientela import auth

    if authorization == "expired":
        authorization = "Bearer " + token_for("store-a", ttl=-120)
    elif authorization == "bad-signature":
        authorization = "Bearer " + auth.issue_token(
            "store-a", auth.ALL_SCOPES, "some-other-key-of-forty-characters-xxxx"
        )
    elif authorization == "no-store":
        authorization = "Bearer " + jwt.encode(
            {"iss": "clientela", "aud": "clientela-api", "iat": 0, "exp": 2**33},
            auth.LOCAL_DEVELOPMENT_KEY,
        )
    if authorization is None:
        assert Api(customers_client, {}).call("GET", "/customers").status == 401
        return
    sent = {"authorization": authorization}
    # API Gateway answers 401 when the authorizer raises "Unauthorized" (or the header is
    # missing); Chalice's test client surfaces both as exceptions. tests/e2e checks the 401.
    with pytest.raises(Exception, match="Unauthorized") as refused:
        Api(customers_client, sent).call("GET", "/customers")
    assert type(refused.value).__name__ in ("Exception", "NotAuthorizedError")


def test_missing_scope_is_403(customers_client) -> None:
    reader = Api(
        customers_client, {"authorization": f"Bearer {token_for('store-r', ('customers:read',))}"}
    )
    stranger = Api(
        customers_client, {"authorization": f"Bearer {token_for('store-r', ('credits:read',))}"}
    )

    assert reader.call("GET", "/customers").status == 200
    assert reader.call("POST", "/customers", {"email": "x@example.com"}).status == 403
    assert stranger.call("GET", "/customers").status == 403


def test_health_needs_no_token(customers_client) -> None:
    assert Api(customers_client, {}).call("GET", "/health/customers").body == {
        "status": "ok",
        "service": "customers",
    }


@pytest.mark.parametrize("if_match", ['"²"', '"\uff11"', "abc", '"1.0"', '"' + "9" * 30 + '"'])
def test_a_malformed_if_match_is_422_naming_it(api: Api, if_match: str) -> None:
    created = api.call("POST", "/customers", {"email": "im@example.com"}).body

    answer = api.call(
        "PATCH", f"/customers/{created['id']}", {"city": "Faro"}, headers={"if-match": if_match}
    )

    assert answer.status == 422
    assert answer.body["errors"][0]["field"] == "If-Match"
    assert api.call("GET", f"/customers/{created['id']}").body["city"] is None


def test_a_national_phone_in_a_patch_is_read_in_the_stored_country(api: Api) -> None:
    created = api.call("POST", "/customers", {"email": "br@example.com", "country": "BR"}).body

    answer = api.call("PATCH", f"/customers/{created['id']}", {"phone": "(11) 91234-5678"})

    assert answer.status == 200
    assert answer.body["phone"] == "+5511912345678"


@pytest.mark.parametrize(
    "query",
    [
        "q=%20",
        "q=%20%20%20",
        "q=%09",
        "q=...",
        "q=%2C",
        "q=%CC%81",
        "q=%E2%80%8B",
        "q=%2B",
        "city=%20",
        "city=--",
        "tag=%20",
        f"q={'x' * 101}",
    ],
)
def test_a_text_filter_that_cannot_run_is_refused_naming_it(api: Api, query: str) -> None:
    api.call("POST", "/customers", {"email": "someone@example.com", "city": "Lisboa"})
    invalid = api.call("GET", "/customers?limit=0")  # how this layer answers an invalid value
    name = query.split("=", maxsplit=1)[0]

    for path in ("/customers", "/customers/count"):
        answer = api.call("GET", f"{path}?{query}")
        assert answer.status == invalid.status, (path, answer.body)
        assert answer.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in answer.body["errors"]] == [name]


def test_text_filters_are_trimmed(api: Api) -> None:
    created = api.call("POST", "/customers", {"email": "ana@example.com", "city": "Lisboa"}).body

    for query in ("q=%20ana%20", "city=%20lisboa%20", "q=ana%2C"):
        answer = api.call("GET", f"/customers?{query}")
        assert answer.status == 200, answer.body
        assert [c["id"] for c in answer.body["items"]] == [created["id"]]


def test_the_biggest_change_allowed_lands_in_one_transaction(api: Api) -> None:
    """Tags, name, e-mail and phone all changed at once, as many tags as a change may move: the
    tag counts are one counters update (not one write per tag), so it fits DynamoDB's 100
    writes per transaction, and lands whole."""
    old_tags = [f"old-{i}" for i in range(20)]
    created = api.call(
        "POST",
        "/customers",
        {
            "email": "many@example.com",
            "phone": "+44 7911 123456",
            "first_name": "Ana Beatriz Carolina",
            "last_name": "Dias Esteves Fonseca",
            "tags": old_tags,
        },
    )
    assert created.status == 201, created.body
    changes = {
        "email": "other@example.com",
        "phone": "+44 7912 345678",
        "first_name": "Gabriela Helena Isabel",
        "last_name": "Jardim Lacerda Moreira",
        "tags": [f"new-{i}" for i in range(20)],
    }

    answer = api.call("PATCH", f"/customers/{created.body['id']}", changes)

    assert answer.status == 200, answer.body
    assert answer.body["tags"] == sorted(changes["tags"])
    tags = {t["tag"]: t["customers"] for t in api.call("GET", "/tags").body["items"]}
    assert tags.get("new-0") == 1 and "old-0" not in tags
    found = api.call("GET", "/customers/count?q=gabriela%20helena").body
    assert found["count"] == 1
    assert api.call("DELETE", f"/customers/{created.body['id']}").status == 204
