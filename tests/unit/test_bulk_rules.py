"""Bulk action rules and job progress, with no AWS in sight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.customers.bulk import usecases as bulk
from chalicelib.customers.bulk.models import BulkRequest
from chalicelib.customers.bulk.store import MAX_FAILURES, Job
from chalicelib.customers.profiles import rules as domain

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ID = "01JQ0000000000000000000000"


def customer(**values: Any) -> domain.Customer:
    base: dict[str, Any] = {
        "id": ID,
        "store_id": "s",
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
        "email": "ana@example.com",
    }
    return domain.Customer(**{**base, **values})


def test_tag_actions_change_only_what_is_missing_or_present() -> None:
    add = bulk.Action("add_tags", ("vip", "b2b"))
    remove = bulk.Action("remove_tags", ("vip",))

    assert bulk._profile_changes(customer(tags=["b2b"]), add) == {"tags": ["b2b", "vip"]}
    assert bulk._profile_changes(customer(tags=["b2b", "vip"]), add) is None
    assert bulk._profile_changes(customer(tags=["vip", "x"]), remove) == {"tags": ["x"]}
    assert bulk._profile_changes(customer(tags=["x"]), remove) is None


def test_adding_past_the_tag_limit_is_refused() -> None:
    full = customer(tags=[f"t{i}" for i in range(domain.MAX_TAGS)])
    with pytest.raises(bulk._Refused, match="more than"):
        bulk._profile_changes(full, bulk.Action("add_tags", ("one-more",)))


def test_favorite_is_idempotent() -> None:
    assert bulk._profile_changes(customer(), bulk.Action("favorite")) == {"favorite": True}
    assert bulk._profile_changes(customer(favorite=True), bulk.Action("favorite")) is None
    assert bulk._profile_changes(customer(), bulk.Action("unfavorite")) is None


def test_subscribe_records_single_opt_in_from_admin_unless_already_subscribed() -> None:
    subscribe = bulk.Action("subscribe", channel="email")

    record = bulk._consent(customer(), subscribe)

    assert record == domain.Consent(state="subscribed", opt_in_level="single", source="admin")
    confirmed = domain.Consent(state="subscribed", opt_in_level="confirmed", source="signup")
    assert bulk._consent(customer(email_consent=confirmed), subscribe) is None


@pytest.mark.parametrize(
    ("values", "channel", "reason"),
    [
        ({"phone": None}, "sms", "has no phone"),
        (
            {
                "email_consent": domain.Consent(
                    state="unsubscribed", source="unsubscribe_link", updated_at=NOW
                )
            },
            "email",
            "unsubscribe link",
        ),
    ],
)
def test_subscribe_refusals(values: dict[str, Any], channel: str, reason: str) -> None:
    with pytest.raises(bulk._Refused, match=reason):
        bulk._consent(customer(**values), bulk.Action("subscribe", channel=channel))


def test_unsubscribe_is_idempotent() -> None:
    unsubscribe = bulk.Action("unsubscribe", channel="email")
    out = domain.Consent(state="unsubscribed", source="admin")

    assert bulk._consent(customer(), unsubscribe) == out
    assert bulk._consent(customer(email_consent=out), unsubscribe) is None


def job() -> Job:
    return Job(
        id="01JQ0000000000000000000009",
        store_id="s",
        action={"name": "favorite"},
        target={"kind": "ids", "count": 300},
        created_at=NOW,
        updated_at=NOW,
        total=300,
    )


def test_a_chunk_counts_its_outcomes_and_moves_on() -> None:
    later = NOW + timedelta(seconds=5)
    outcomes = [
        ("a", "updated", None),
        ("b", "unchanged", None),
        ("c", "not_found", None),
        ("d", "refused", "has no phone"),
    ]

    after = job().after_chunk(outcomes, {"offset": 4}, False, later)

    assert (after.status, after.processed, after.total) == ("running", 4, 300)
    assert (after.succeeded, after.skipped, after.failed) == (1, 2, 1)
    assert after.failures == [{"id": "d", "reason": "has no phone"}]
    assert (after.next_chunk, after.position, after.started_at) == (1, {"offset": 4}, later)
    assert after.finished_at is None


def test_the_last_chunk_finishes_the_job_and_failures_stay_bounded() -> None:
    running = job().after_chunk(
        [(f"id{i}", "refused", "busy") for i in range(150)], {"offset": 150}, False, NOW
    )
    end = NOW + timedelta(minutes=1)

    done = running.after_chunk([("x", "refused", "busy")], None, True, end)

    assert done.status == "succeeded"
    assert done.failed == 151
    assert len(done.failures) == MAX_FAILURES
    assert done.failures[0] == {"id": "id0", "reason": "busy"}
    assert (done.finished_at, done.position, done.started_at) == (end, None, NOW)


def test_the_total_of_a_filter_job_is_known_at_the_end() -> None:
    unknown = Job(
        id="j", store_id="s", action={}, target={}, created_at=NOW, updated_at=NOW
    ).after_chunk([("a", "updated", None)], {"key": {}}, False, NOW)
    assert unknown.total is None
    assert unknown.after_chunk([("b", "updated", None)], None, True, NOW).total == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "add_tags", "target": {"ids": [ID]}}, "tags"),
        ({"action": "favorite", "tags": ["x"], "target": {"ids": [ID]}}, "tags"),
        ({"action": "subscribe", "target": {"ids": [ID]}}, "channel"),
        ({"action": "favorite", "channel": "email", "target": {"ids": [ID]}}, "channel"),
        ({"action": "favorite", "target": {}}, "target"),
        ({"action": "favorite", "target": {"ids": [ID], "segment_id": "new"}}, "target"),
        ({"action": "favorite", "target": {"ids": []}}, "target.ids"),
        ({"action": "favorite", "target": {"ids": [ID, "nope"]}}, "target.ids.1"),
        ({"action": "delete", "target": {"filter": {}}}, "target"),
        ({"action": "add_tags", "tags": [" "], "target": {"ids": [ID]}}, "tags"),
        ({"action": "explode", "target": {"ids": [ID]}}, "action"),
    ],
)
def test_bad_bulk_requests_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        BulkRequest.model_validate(body)
    fields = [".".join(str(p) for p in e["loc"]) for e in refused.value.errors()]
    assert field in fields


def test_tags_are_normalised_like_a_customer_s() -> None:
    body = BulkRequest.model_validate(
        {"action": "add_tags", "tags": [" VIP ", "vip", "B2B"], "target": {"ids": [ID, ID]}}
    )
    assert body.tags == ["b2b", "vip"]
    assert body.target.unique_ids() == [ID]
