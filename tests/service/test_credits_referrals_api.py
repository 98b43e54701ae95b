"""Refer-a-friend against moto: the programme and its referrers."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chalice.test import Client

from tests.service.conftest import Api
from tests.service.test_credits_consumer import created, deleted, sqs_record
from tests.service.test_credits_coupons_api import JOAO, MARIA

PROGRAMME = {
    "referrer_reward": "20",
    "friend_reward": "10.00",
    "currency": "BRL",
    "expiry_days": 90,
    "hold_window_days": 14,
    "monthly_cap": 5,
    "share_base_url": "https://loja.example.com.br/indique?lang=pt",
}


@pytest.fixture
def deliver(apps: dict[str, Any]) -> Any:
    from clientela_local.lambda_context import new_context

    def run(*records: dict[str, Any]) -> Any:
        context = new_context(
            "clientela-credits", "on_customer_event", region="us-east-1", account="123456789012"
        )
        return apps["credits"].on_customer_event({"Records": list(records)}, context)

    return run


@pytest.fixture
def credits(apps: dict[str, Any], headers: dict[str, str], deliver: Any, store_id: str) -> Any:
    deliver(sqs_record(created(store_id, MARIA)), sqs_record(created(store_id, JOAO)))
    with Client(apps["credits"].app) as client:
        yield Api(client, headers)


@pytest.fixture
def programme(credits: Api) -> Any:
    answer = credits.call("PUT", "/referrals/programme", PROGRAMME)
    assert answer.status == 200, answer.body
    return answer.body


def test_the_programme_is_kept_with_the_currency_s_minor_units(
    credits: Api, programme: Any
) -> None:
    assert programme["referrer_reward"] == "20.00"
    assert programme["friend_reward"] == "10.00"
    assert credits.call("GET", "/referrals/programme").body == programme


def test_a_store_without_a_programme(credits: Api) -> None:
    assert credits.call("GET", "/referrals/programme").status == 404
    answer = credits.call("POST", "/referrers", {"customer_id": MARIA})
    assert answer.status == 409
    assert answer.body["type"].endswith("/no-referral-programme")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"referrer_reward": "0"}, ""),
        ({"referrer_reward": "-1"}, "referrer_reward"),
        ({"friend_reward": "1.001"}, "friend_reward"),
        ({"currency": "JPY"}, "referrer_reward"),  # "10.00" has decimals a yen does not
        ({"hold_window_days": -1}, "hold_window_days"),
        ({"monthly_cap": 0}, "monthly_cap"),
        ({"share_base_url": "not a url"}, "share_base_url"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_programme_settings_are_refused_and_change_nothing(
    credits: Api, programme: Any, fields: dict[str, Any], field: str
) -> None:
    body = {**PROGRAMME, **fields}
    if fields.get("currency") == "JPY":
        body["referrer_reward"] = "20.50"

    answer = credits.call("PUT", "/referrals/programme", body)

    assert answer.status == 422, answer.body
    assert field in [error["field"] for error in answer.body["errors"]]
    assert credits.call("GET", "/referrals/programme").body == programme


def test_enrolling_gives_a_code_and_a_share_link_once(credits: Api, programme: Any) -> None:
    first = credits.call("POST", "/referrers", {"customer_id": MARIA})
    again = credits.call("POST", "/referrers", {"customer_id": MARIA})
    other = credits.call("POST", "/referrers", {"customer_id": JOAO})

    assert first.status == 201
    assert again.status == 200
    assert again.body == first.body
    link = urlsplit(first.body["share_link"])
    assert link.netloc == "loja.example.com.br"
    assert parse_qs(link.query) == {"lang": ["pt"], "ref": [first.body["code"]]}
    assert other.body["code"] != first.body["code"]
    assert credits.call("GET", f"/referrers/{MARIA}").body == first.body


def test_an_unknown_or_deleted_customer_cannot_enrol(
    credits: Api, programme: Any, deliver: Any, store_id: str
) -> None:
    deliver(sqs_record(deleted(store_id, JOAO)))

    for customer_id in (JOAO, "01JD50000000000000000000ZZ"):
        answer = credits.call("POST", "/referrers", {"customer_id": customer_id})
        assert answer.status == 422
        assert answer.body["errors"][0]["field"] == "customer_id"
        assert credits.call("GET", f"/referrers/{customer_id}").status == 404


def test_concurrent_enrolments_of_one_customer_give_one_code(
    credits: Api, programme: Any, store_id: str
) -> None:
    from chalicelib.credits.referrals import usecases

    barrier = threading.Barrier(4)
    codes: list[str] = []

    def enrol() -> None:
        barrier.wait()
        codes.append(usecases.enrol(store_id, MARIA)[0].code)

    threads = [threading.Thread(target=enrol) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(codes)) == 1
    assert credits.call("GET", f"/referrers/{MARIA}").body["code"] == codes[0]
