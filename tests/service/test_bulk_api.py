"""Bulk actions and jobs over HTTP, with job chunks run from the real messages on moto's queue."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ulid import ULID

from chalicelib.customers.settings import settings
from clientela import aws
from clientela_local.lambda_context import new_context
from tests.service.conftest import Answer, Api

MISSING = str(ULID())


def create(api: Api, **profile: Any) -> str:
    answer = api.call("POST", "/customers", profile)
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def bulk(api: Api, body: dict[str, Any], key: str | None = None) -> Answer:
    return api.call(
        "POST", "/customers/bulk", body, headers={"idempotency-key": key} if key else None
    )


class Queue:
    """The jobs queue as Lambda's event source mapping sees it, for one job's messages."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sqs = aws.client("sqs")
        self.url = self.sqs.get_queue_url(QueueName=settings().jobs_queue)["QueueUrl"]

    def receive(self, job_id: str) -> list[dict[str, Any]]:
        """This job's visible messages as SQS records.

        Messages of other jobs (other tests of this worker, the fuzzer) stay in the queue, hidden
        for a while by being received, so they never hide this job's messages.
        """
        mine: list[dict[str, Any]] = []
        for _ in range(100):
            response = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                VisibilityTimeout=60,
            )
            messages = response.get("Messages", [])
            mine += [
                self.record(m) for m in messages if json.loads(m["Body"]).get("job_id") == job_id
            ]
            if mine or not messages:
                return mine
        return mine

    @staticmethod
    def record(message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message["Attributes"],
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:clientela-customers-jobs",
        }

    def deliver(self, record: dict[str, Any]) -> dict[str, Any]:
        """Invokes the handler with one record; deletes the message when it succeeded."""
        context = new_context(
            "clientela-customers", "run_bulk_job", region="us-east-1", account="123456789012"
        )
        response: dict[str, Any] = self.app.run_bulk_job({"Records": [record]}, context)
        if not response.get("batchItemFailures"):
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])
        return response

    def run(self, job_id: str, rounds: int = 60) -> int:
        """Delivers the job's messages until none is left; how many were delivered."""
        delivered = 0
        for _ in range(rounds):
            records = self.receive(job_id)
            if not records:
                return delivered
            for record in records:
                self.deliver(record)
                delivered += 1
        raise AssertionError("the job never ran out of messages")


@pytest.fixture
def queue(apps: dict[str, Any]) -> Queue:
    return Queue(apps["customers"])


@pytest.fixture
def small_chunks(apps: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Chunks of 2 customers, so a handful of customers makes a job of several chunks."""
    module = apps["customers"].bulk
    monkeypatch.setattr(module, "CHUNK_SIZE", 2)
    monkeypatch.setattr(module, "GROUP", 2)
    return module


def test_up_to_1000_ids_are_done_at_once_with_a_result_per_id(api: Api) -> None:
    tagged = create(api, email="tagged@example.com", tags=["vip"])
    plain = create(api, email="plain@example.com", tags=["b2b"])

    answer = bulk(
        api,
        {"action": "add_tags", "tags": ["VIP"], "target": {"ids": [tagged, plain, MISSING, plain]}},
    )

    assert answer.status == 200
    assert answer.body["action"] == "add_tags"
    assert answer.body["results"] == [
        {"id": tagged, "result": "unchanged", "reason": None},
        {"id": plain, "result": "updated", "reason": None},
        {"id": MISSING, "result": "not_found", "reason": None},
    ]
    assert answer.body["counts"] == {"updated": 1, "unchanged": 1, "not_found": 1, "refused": 0}
    stored = api.call("GET", f"/customers/{plain}").body
    assert (stored["tags"], stored["version"]) == (["b2b", "vip"], 2)
    assert api.call("GET", f"/customers/{tagged}").body["version"] == 1


def test_consent_actions_refuse_what_the_rules_refuse(api: Api) -> None:
    with_phone = create(api, email="p@example.com", phone="+34612345678")
    no_phone = create(api, email="e@example.com")
    opted_out = create(api, email="o@example.com", phone="+34612345679")
    api.call(
        "POST",
        f"/customers/{opted_out}/consent",
        {"channel": "sms", "state": "unsubscribed", "source": "unsubscribe_link"},
    )

    answer = bulk(
        api,
        {
            "action": "subscribe",
            "channel": "sms",
            "target": {"ids": [with_phone, no_phone, opted_out]},
        },
    )

    results = {r["id"]: r for r in answer.body["results"]}
    assert results[with_phone]["result"] == "updated"
    assert results[no_phone] == {"id": no_phone, "result": "refused", "reason": "has no phone"}
    assert results[opted_out]["result"] == "refused"
    consent = api.call("GET", f"/customers/{with_phone}").body["sms_consent"]
    assert (consent["state"], consent["opt_in_level"], consent["source"]) == (
        "subscribed",
        "single",
        "admin",
    )
    assert api.call("GET", f"/customers/{opted_out}").body["sms_consent"]["state"] == (
        "unsubscribed"
    )
    again = bulk(api, {"action": "subscribe", "channel": "sms", "target": {"ids": [with_phone]}})
    assert again.body["results"][0]["result"] == "unchanged"


def test_favorite_and_delete_in_bulk(api: Api) -> None:
    ids = [create(api, email=f"f{i}@example.com") for i in range(3)]

    favorite = bulk(api, {"action": "favorite", "target": {"ids": ids}})
    deleted = bulk(api, {"action": "delete", "target": {"ids": ids[:2]}})

    assert favorite.body["counts"]["updated"] == 3
    assert api.call("GET", f"/customers/{ids[2]}").body["favorite"] is True
    assert deleted.body["counts"] == {"updated": 2, "unchanged": 0, "not_found": 0, "refused": 0}
    assert [api.call("GET", f"/customers/{i}").status for i in ids] == [404, 404, 200]
    again = bulk(api, {"action": "delete", "target": {"ids": ids[:2]}})
    assert again.body["counts"]["not_found"] == 2


def test_a_retry_with_the_same_idempotency_key_gets_the_same_answer(api: Api) -> None:
    customer = create(api, email="retry@example.com")
    body = {"action": "add_tags", "tags": ["promo"], "target": {"ids": [customer]}}

    first = bulk(api, body, key="bulk-1")
    second = bulk(api, body, key="bulk-1")
    other = bulk(api, {**body, "tags": ["other"]}, key="bulk-1")

    assert first.status == second.status == 200
    assert second.body == first.body
    assert first.body["results"][0]["result"] == "updated"
    assert other.status == 422
    assert other.body["errors"][0]["field"] == "Idempotency-Key"
    stored = api.call("GET", f"/customers/{customer}").body
    assert (stored["tags"], stored["version"]) == (["promo"], 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "add_tags", "target": {"ids": [MISSING]}}, "tags"),
        ({"action": "subscribe", "target": {"ids": [MISSING]}}, "channel"),
        ({"action": "favorite", "target": {"ids": [MISSING, MISSING, "42"]}}, "target.ids.2"),
        ({"action": "favorite", "target": {"ids": []}}, "target.ids"),
        ({"action": "favorite", "target": {"ids": [MISSING], "filter": {}}}, "target.filter"),
        ({"action": "favorite", "target": {"filter": {"colour": "red"}}}, "target.filter.colour"),
        ({"action": "delete", "target": {"filter": {}}}, "target"),
        ({"action": "favorite", "target": {"segment_id": "nope"}}, "target.segment_id"),
        ({"action": "favorite", "target": {"ids": [MISSING] * 10_001}}, "target.ids"),
        ({"action": "merge", "target": {"ids": [MISSING]}}, "action"),
    ],
)
def test_bad_bulk_requests_are_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    answer = bulk(api, body)

    assert answer.status == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in answer.body["errors"]]


def test_more_than_1000_ids_run_as_a_job_to_completion(
    api: Api, queue: Queue, apps: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apps["customers"].bulk, "CHUNK_SIZE", 400)
    real = [create(api, email=f"j{i}@example.com") for i in range(3)]
    ids = [*real, *(str(ULID()) for _ in range(1100))]

    answer = bulk(api, {"action": "add_tags", "tags": ["imported"], "target": {"ids": ids}})

    assert answer.status == 202
    job = answer.body
    assert answer.headers["location"] == f"/jobs/{job['id']}"
    assert (job["status"], job["total"], job["processed"]) == ("queued", 1103, 0)
    assert job["target"] == {
        "kind": "ids",
        "count": 1103,
        "filters": None,
        "segment_id": None,
        "segment_name": None,
    }
    assert queue.run(job["id"]) == 3
    done = api.call("GET", f"/jobs/{job['id']}").body
    assert (done["status"], done["processed"], done["total"]) == ("succeeded", 1103, 1103)
    assert (done["succeeded"], done["skipped"], done["failed"]) == (3, 1100, 0)
    assert done["finished_at"] is not None
    assert all(api.call("GET", f"/customers/{i}").body["tags"] == ["imported"] for i in real)


def test_a_filter_job_chunk_by_chunk_with_duplicates_and_progress(
    api: Api, queue: Queue, small_chunks: Any
) -> None:
    club = [create(api, email=f"club{i}@example.com", tags=["club"]) for i in range(5)]
    outsider = create(api, email="out@example.com")

    started = bulk(
        api, {"action": "favorite", "target": {"filter": {"tag": ["club"]}}}, key="club-job"
    )

    assert started.status == 202
    job_id = started.body["id"]
    assert started.body["target"]["filters"] == ["tag"]
    assert started.body["total"] is None
    # A retry of the request is the same job, not a second one.
    again = bulk(
        api, {"action": "favorite", "target": {"filter": {"tag": ["club"]}}}, key="club-job"
    )
    assert (again.status, again.body["id"]) == (202, job_id)

    [first] = queue.receive(job_id)
    assert json.loads(first["body"])["chunk"] == 0
    assert queue.deliver(first) == {"batchItemFailures": []}
    midway = api.call("GET", f"/jobs/{job_id}").body
    assert (midway["status"], midway["processed"], midway["succeeded"]) == ("running", 2, 2)
    assert midway["started_at"] is not None
    assert midway["finished_at"] is None

    # The same chunk delivered again (SQS is at-least-once) changes nothing and queues nothing.
    queue.deliver(first)
    assert api.call("GET", f"/jobs/{job_id}").body == midway
    [second] = queue.receive(job_id)
    assert json.loads(second["body"])["chunk"] == 1
    queue.deliver(second)
    queue.deliver(second)
    assert api.call("GET", f"/jobs/{job_id}").body["processed"] == 4

    assert queue.run(job_id) == 1
    done = api.call("GET", f"/jobs/{job_id}").body
    assert (done["status"], done["processed"], done["total"], done["succeeded"]) == (
        "succeeded",
        5,
        5,
        5,
    )
    assert all(api.call("GET", f"/customers/{c}").body["favorite"] for c in club)
    assert api.call("GET", f"/customers/{outsider}").body["favorite"] is False
    queue.deliver(first)  # a very late duplicate of a finished job
    assert api.call("GET", f"/jobs/{job_id}").body == done


def test_a_segment_job_reports_refusals(api: Api, queue: Queue, small_chunks: Any) -> None:
    with_email = [create(api, email=f"s{i}@example.com", country="PT") for i in range(2)]
    phone_only = create(api, phone="+351912345678", country="PT")
    segment = api.call("POST", "/segments", {"name": "Portugal", "filter": {"country": "PT"}}).body

    started = bulk(
        api,
        {"action": "subscribe", "channel": "email", "target": {"segment_id": segment["id"]}},
    )

    assert started.status == 202
    assert started.body["target"]["kind"] == "segment"
    assert started.body["target"]["segment_name"] == "Portugal"
    queue.run(started.body["id"])
    done = api.call("GET", f"/jobs/{started.body['id']}").body
    assert (done["status"], done["succeeded"], done["failed"]) == ("succeeded", 2, 1)
    assert done["failures"] == [{"id": phone_only, "reason": "has no e-mail"}]
    states = [api.call("GET", f"/customers/{c}").body["email_consent"]["state"] for c in with_email]
    assert states == ["subscribed", "subscribed"]


def test_a_chunk_whose_successor_was_not_queued_queues_it_when_redelivered(
    api: Api, queue: Queue, small_chunks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        create(api, email=f"q{i}@example.com", tags=["q"])
    job_id = bulk(
        api, {"action": "add_tags", "tags": ["r"], "target": {"filter": {"tag": ["q"]}}}
    ).body["id"]
    [first] = queue.receive(job_id)
    real_queue = small_chunks._queue

    def broken(*_args: Any) -> None:
        raise RuntimeError("SQS is down")

    monkeypatch.setattr(small_chunks, "_queue", broken)
    failed = queue.deliver(first)
    assert failed == {"batchItemFailures": [{"itemIdentifier": first["messageId"]}]}
    assert api.call("GET", f"/jobs/{job_id}").body["processed"] == 2  # saved before the send

    monkeypatch.setattr(small_chunks, "_queue", real_queue)
    queue.deliver(first)  # Lambda retries the message: it queues chunk 1, runs nothing
    assert api.call("GET", f"/jobs/{job_id}").body["processed"] == 2
    queue.run(job_id)
    done = api.call("GET", f"/jobs/{job_id}").body
    assert (done["status"], done["processed"], done["succeeded"]) == ("succeeded", 3, 3)


def test_a_chunk_failing_on_its_last_delivery_fails_the_job(
    api: Api, queue: Queue, small_chunks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(api, email="boom@example.com", tags=["boom"])
    job_id = bulk(api, {"action": "favorite", "target": {"filter": {"tag": ["boom"]}}}).body["id"]
    [record] = queue.receive(job_id)

    def explode(*_args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(small_chunks, "_work", explode)
    assert queue.deliver(record)["batchItemFailures"]
    assert api.call("GET", f"/jobs/{job_id}").body["status"] == "queued"
    last = {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "5"}}
    assert queue.deliver(last)["batchItemFailures"]

    job = api.call("GET", f"/jobs/{job_id}").body
    assert job["status"] == "failed"
    assert job["error"] == "chunk 0 failed 5 times"


def test_jobs_are_per_store(api: Api, queue: Queue, customers_client: Any, store_id: str) -> None:
    from tests.conftest import token_for

    create(api, email="mine@example.com", tags=["mine"])
    job_id = bulk(api, {"action": "favorite", "target": {"filter": {"tag": ["mine"]}}}).body["id"]
    other = Api(customers_client, {"authorization": f"Bearer {token_for(store_id + '-x')}"})

    assert other.call("GET", f"/jobs/{job_id}").status == 404
    assert api.call("GET", "/jobs/nope").status == 404
    queue.run(job_id)


def test_a_job_whose_stored_filter_cannot_run_fails_with_a_reason(
    api: Api, queue: Queue, store_id: str
) -> None:
    """A job queued before the rules refused its filter (a blank search): it fails at once,
    saying why, instead of sitting queued until its message is dead-lettered."""
    from boto3.dynamodb.types import TypeSerializer

    from chalicelib.customers import keys

    create(api, email="legacy@example.com", tags=["legacy"])
    job_id = bulk(api, {"action": "favorite", "target": {"filter": {"tag": ["legacy"]}}}).body["id"]
    aws.dynamodb().update_item(
        TableName=settings().table,
        Key={
            "pk": {"S": keys.store_pk(store_id)},
            "sk": {"S": f"{keys.JOB_PREFIX}{job_id}#TARGET"},
        },
        UpdateExpression="SET #f = :f",
        ExpressionAttributeNames={"#f": "filter"},
        ExpressionAttributeValues={":f": TypeSerializer().serialize({"q": " "})},
    )
    [record] = queue.receive(job_id)

    assert queue.deliver(record) == {"batchItemFailures": []}  # retrying cannot help

    job = api.call("GET", f"/jobs/{job_id}").body
    assert job["status"] == "failed"
    assert job["error"].startswith("the filter cannot run: q: ")
    assert job["finished_at"] is not None
    assert queue.receive(job_id) == []


@pytest.mark.parametrize("filter_", [{"q": " "}, {"q": "..."}, {"city": "\u0301"}, {"tag": [""]}])
def test_a_bulk_filter_that_cannot_run_is_refused(api: Api, filter_: dict[str, Any]) -> None:
    answer = bulk(api, {"action": "favorite", "target": {"filter": filter_}})

    assert answer.status == 422
    assert [e["field"] for e in answer.body["errors"]] == [f"target.filter.{next(iter(filter_))}"]
