"""The local clock fires scheduled rules (which moto only stores) on injected time."""

from __future__ import annotations

import json
import time as pytime
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from clientela_local import schedules
from clientela_local.clock import AdjustableTime, AppSchedule, Clock, target_input

START = datetime(2025, 3, 3, 7, 58, 30, tzinfo=UTC)  # a Monday


def _scheduled_queue(rule: str, expression: str, **target: Any) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"{rule}-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    events = boto3.client("events")
    events.put_rule(Name=rule, ScheduleExpression=expression)
    queue_target: Any = {"Id": "queue", "Arn": arn["Attributes"]["QueueArn"], **target}
    events.put_targets(Rule=rule, Targets=[queue_target])
    return url


def _bodies(url: str) -> list[Any]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def _clock(time: AdjustableTime, **kwargs: Any) -> Clock:
    return Clock(region="us-east-1", account="123456789012", now=time, **kwargs)


def test_a_rate_rule_fires_once_per_period(aws):
    url = _scheduled_queue("every-five", "rate(5 minutes)")
    time = AdjustableTime(START)
    clock = _clock(time)

    assert clock.tick() == []  # first sight: the first firing is one period away
    time.advance(timedelta(minutes=4, seconds=59))
    assert clock.tick() == []
    time.advance(timedelta(seconds=1))
    (fired,) = clock.tick()
    assert clock.tick() == []  # same moment: already fired
    time.advance(timedelta(minutes=5))
    assert clock.tick() == [fired]
    time.advance(timedelta(hours=1, minutes=2))  # twelve periods missed: one firing
    assert clock.tick() == [fired]

    first, second, late = _bodies(url)
    assert fired.endswith(":rule/every-five")
    assert first["detail-type"] == "Scheduled Event"
    assert first["source"] == "aws.events"
    assert first["resources"] == [fired]
    assert first["detail"] == {}
    assert first["time"] == "2025-03-03T08:03:30Z"
    assert second["time"] == "2025-03-03T08:08:30Z"
    assert late["time"] == "2025-03-03T09:08:30Z"
    assert first["id"] != second["id"]


def test_a_cron_rule_fires_at_its_times_and_a_late_clock_fires_once(aws):
    url = _scheduled_queue("weekday-eight", "cron(0 8 ? * MON-FRI *)")
    time = AdjustableTime(START)
    clock = _clock(time)
    clock.tick()

    time.advance(timedelta(minutes=1, seconds=30))  # 08:00:00
    assert len(clock.tick()) == 1
    time.advance(timedelta(days=3))  # three missed mornings: one firing, not three,
    assert len(clock.tick()) == 1  # at the latest: what is due by then is due now
    assert [body["time"] for body in _bodies(url)] == [
        "2025-03-03T08:00:00Z",
        "2025-03-06T08:00:00Z",
    ]
    time.advance(timedelta(hours=23, minutes=59))
    assert clock.tick() == []  # the next is Friday's, not one of the missed ones


def test_disabled_rules_do_not_fire(aws):
    url = _scheduled_queue("paused", "rate(1 minute)")
    boto3.client("events").disable_rule(Name="paused")
    time = AdjustableTime(START)
    clock = _clock(time)
    clock.tick()
    time.advance(timedelta(minutes=2))
    assert clock.tick() == []
    assert _bodies(url) == []


def test_the_target_input_shapes_what_is_delivered(aws):
    url = _scheduled_queue("with-input", "rate(1 minute)", Input='{"job": "expire-credits"}')
    time = AdjustableTime(START)
    clock = _clock(time)
    clock.tick()
    time.advance(timedelta(minutes=1))
    clock.tick()
    assert _bodies(url) == [{"job": "expire-credits"}]


def test_input_path_and_input_transformer():
    event = {"id": "e-1", "time": "2025-03-03T08:00:00Z", "detail": {"n": 2}}
    assert json.loads(target_input({"Id": "t", "Arn": "a", "InputPath": "$.detail"}, event)) == {
        "n": 2
    }
    transformer: Any = {
        "InputPathsMap": {"when": "$.time", "n": "$.detail.n"},
        "InputTemplate": '{"at": "<when>", "count": <n>}',
    }
    shaped = target_input({"Id": "t", "Arn": "a", "InputTransformer": transformer}, event)
    assert json.loads(shaped) == {"at": "2025-03-03T08:00:00Z", "count": 2}


def test_app_schedules_call_their_handler(aws):
    calls: list[dict[str, Any]] = []
    schedule = AppSchedule(
        "arn:aws:events:us-east-1:123456789012:rule/x", "rate(1 hour)", calls.append
    )
    time = AdjustableTime(START)
    clock = _clock(time, app_schedules=[schedule])
    clock.tick()
    time.advance(timedelta(hours=1))
    assert clock.tick() == [schedule.arn]
    assert calls[0]["resources"] == [schedule.arn]


@pytest.mark.parametrize(
    "expression",
    ["rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "cron(0 8 * * *)", "at(2025-01-01)"],
)
def test_invalid_schedule_expressions_are_refused(expression):
    with pytest.raises(ValueError, match=r"rate|cron|minute"):
        schedules.parse(expression, anchor=START)


def test_the_clock_thread_stops_promptly(aws):
    clock = _clock(AdjustableTime(START), interval=0.05)
    clock.start()
    clock.stop(timeout=5)
    assert clock._thread is not None
    assert not clock._thread.is_alive()


def _bucket_keeping_a_week(bucket: str, prefix: str) -> Any:
    """A bucket whose objects under `prefix` expire after 7 days (moto stores the rule only)."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "week",
                    "Status": "Enabled",
                    "Filter": {"Prefix": prefix},
                    "Expiration": {"Days": 7},
                }
            ]
        },
    )
    return s3


def test_the_clock_applies_lifecycle_expiration_which_moto_only_stores(aws):
    s3 = _bucket_keeping_a_week("files", prefix="exports/")
    for key in ("exports/a.csv", "imports/b.csv"):
        s3.put_object(Bucket="files", Key=key, Body=b"x")
    time = AdjustableTime()  # objects are stamped with real time
    clock = _clock(time)

    clock.tick()
    time.advance(timedelta(days=6, hours=23))
    clock.tick()
    assert {o["Key"] for o in s3.list_objects_v2(Bucket="files")["Contents"]} == {
        "exports/a.csv",
        "imports/b.csv",
    }
    time.advance(timedelta(hours=1, minutes=1))
    clock.tick()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="files")["Contents"]] == ["imports/b.csv"]


def test_an_object_written_after_the_clock_moved_ahead_is_new_in_the_stacks_time(aws):
    """The e2e tests share a stack whose clock other tests move weeks ahead: a file written
    after that (a privacy request's access file) must live its days from then, not go at once."""
    s3 = _bucket_keeping_a_week("later-files", prefix="")
    s3.put_object(Bucket="later-files", Key="before.csv", Body=b"x")
    time = AdjustableTime()
    clock = _clock(time)
    time.advance(timedelta(days=30))
    # moto stamps objects in whole seconds (an object of the advance's own second counts as
    # older): the next second is plainly after the advance.
    pytime.sleep(1.1)
    s3.put_object(Bucket="later-files", Key="after.csv", Body=b"x")

    clock.tick()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="later-files")["Contents"]] == ["after.csv"]
    time.advance(timedelta(days=7, minutes=1))
    clock.tick()
    assert "Contents" not in s3.list_objects_v2(Bucket="later-files")
