"""The suppression list (list with a cursor, lift with a reason), the store's dropped replies
by reason, and a cursor on a customer's conversations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from tests.service.automation_mail import invoke, sent_to, sqs_record
from tests.service.conftest import Api
from tests.service.test_automation_messages_api import drop, known_customer, reply_mime
from tests.service.test_automation_sending import ses_notification


@pytest.fixture
def api(apps: dict[str, Any], headers: dict[str, str]) -> Iterator[Api]:
    with Client(apps["automation"].app) as client:
        yield Api(client, headers)


def _all_pages(api: Api, path: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = api.call("GET", path + query)
        assert answer.status == 200, answer.body
        items += answer.body["items"]
        pages += 1
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return items, pages


def test_suppressions_are_listed_page_by_page_and_lifted_with_a_reason(
    api: Api, apps: dict[str, Any], store_id: str
) -> None:
    from chalicelib.automation.sending import usecases as sending

    profile = known_customer(apps, store_id)
    sent = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "S", "body": "b"})
    from chalicelib.automation.messages import usecases as messages

    header = messages.message_store().messages_of(sent.body["id"])[0]["header_id"]
    bounce = ses_notification("Bounce", header.split("@")[0], profile.email)
    assert invoke(apps["automation"], "on_ses_feedback", sqs_record(bounce)) == {
        "batchItemFailures": []
    }
    at = datetime(2026, 11, 20, tzinfo=UTC)
    others = [f"pessoa{i}@example.com" for i in range(6)]
    for i, address in enumerate(others):
        sending.suppressions().suppress(store_id, address, "complaint", at + timedelta(hours=i))
    sending.suppressions().suppress("another-store", "x@example.com", "bounce", at)

    items, pages = _all_pages(api, "/suppressions", limit=3)

    digest = hashlib.sha256(profile.email.lower().encode()).hexdigest()[:40]
    assert pages >= 3
    assert len(items) == len({i["id"] for i in items}) == 7
    mine = next(i for i in items if i["id"] == digest)
    assert mine["reason"] == "bounce"
    assert mine["masked_address"] == f"{profile.email.lower()[0]}***@example.com"
    assert profile.email.lower() not in json.dumps(items)
    refused = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "S", "body": "b"})
    assert refused.status == 409

    lifted = api.call("DELETE", f"/suppressions/{digest}?reason=address%20fixed%20by%20staff")
    again = api.call("DELETE", f"/suppressions/{digest}?reason=address%20fixed%20by%20staff")
    by_address = api.call("DELETE", f"/suppressions/{others[0].upper()}?reason=asked%20by%20phone")
    no_reason = api.call("DELETE", f"/suppressions/{others[1]}")

    assert (lifted.status, again.status, by_address.status) == (204, 404, 204)
    assert no_reason.status == 422
    assert [e["field"] for e in no_reason.body["errors"]] == ["reason"]
    [record] = sending.suppressions().lifts(store_id, digest)
    assert (record["reason"], record["suppressed_for"]) == ("address fixed by staff", "bounce")
    assert len(_all_pages(api, "/suppressions", limit=50)[0]) == 5
    resent = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "S", "body": "b"})
    assert resent.status == 201, resent.body
    assert len(sent_to(profile.email)) == 2


def test_a_cursor_from_another_listing_is_refused(api: Api) -> None:
    suppressions = api.call("GET", "/suppressions?limit=1&cursor=bm90LWEtY3Vyc29y")
    assert suppressions.status == 422
    assert [e["field"] for e in suppressions.body["errors"]] == ["cursor"]


def test_a_customer_s_conversations_come_page_by_page(
    api: Api, apps: dict[str, Any], store_id: str
) -> None:
    profile = known_customer(apps, store_id)
    ids = [
        api.call(
            "POST", f"/customers/{profile.id}/messages", {"subject": f"S{i}", "body": "b"}
        ).body["id"]
        for i in range(5)
    ]

    items, pages = _all_pages(api, f"/customers/{profile.id}/messages", limit=2)

    assert pages == 3
    assert [t["id"] for t in items] == list(reversed(ids))
    other = known_customer(apps, store_id)
    first = api.call("GET", f"/customers/{profile.id}/messages?limit=2").body["next_cursor"]
    moved = api.call("GET", f"/customers/{other.id}/messages?limit=2&cursor={first}")
    assert moved.status == 422


def test_the_store_s_dropped_replies_are_counted_by_reason(
    api: Api, apps: dict[str, Any], store_id: str
) -> None:
    from chalicelib.automation.messages import usecases as messages

    before = api.call("GET", "/messages/dropped").body
    assert before == {"by_reason": {}, "days": []}
    profile = known_customer(apps, store_id)
    sent = api.call("POST", f"/customers/{profile.id}/messages", {"subject": "S", "body": "b"})
    header = messages.message_store().messages_of(sent.body["id"])[0]["header_id"]
    stranger = reply_mime(
        to="loja@shop.example", sender="x@evil.example", in_reply_to=f"<{header}>"
    )
    local, domain = sent_to(profile.email)[0]["Reply-To"].split("@")
    forged_to = local[:-1] + ("0" if local[-1] != "0" else "1") + "@" + domain
    forged = reply_mime(to=forged_to, sender=profile.email)

    outcomes = drop(apps, stranger) + drop(apps, stranger) + drop(apps, forged)

    assert outcomes == ["dropped:sender_mismatch"] * 2 + ["dropped:forged_token"]
    after = api.call("GET", "/messages/dropped?days=7")
    assert after.status == 200, after.body
    today = datetime.now(UTC).date().isoformat()
    assert after.body == {
        "by_reason": {"sender_mismatch": 2},
        "days": [{"day": today, "by_reason": {"sender_mismatch": 2}}],
    }
    assert api.call("GET", "/messages/dropped?days=91").status == 422
