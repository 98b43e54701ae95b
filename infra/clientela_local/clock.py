"""The local stack's clock: fires scheduled EventBridge rules, which moto only stores.

Every `interval` seconds it reads the enabled rules with a `ScheduleExpression` (EventBridge
allows those on the default bus only) and, for each one that is due, delivers the scheduled
event to the rule's targets, shaped by the target's Input / InputPath / InputTransformer.
Apps' own `@app.schedule` handlers are fired the same way (see `AppSchedule`).

Time is injectable (`now=`): tests pass an `AdjustableTime` and call `tick()` after advancing
it.
A clock that falls behind (laptop asleep, time advanced by hours) fires each rule once, not
once per missed period, with the time of the latest period missed.

It also applies the buckets' lifecycle expiration rules, which moto stores but never runs
(`sweep_buckets`): at most once a minute of its time, objects older than a rule's days go.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from clientela_local import schedules

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import TargetOutputTypeDef

log = logging.getLogger(__name__)

Now = Callable[[], datetime]
# How often (in the clock's time) expired objects are looked for.
SWEEP_EVERY = timedelta(minutes=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


class AdjustableTime:
    """A `now` that can be moved forward: real time plus an offset, or frozen at `start`.

    Tests freeze it (`AdjustableTime(start)`) and advance it; the running stack uses real time,
    and `POST /_local/clock/advance` moves it forward to let schedules come due.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start
        self._offset = timedelta()
        # (real instant, offset from then on): when each advance happened, to tell the stack's
        # time of a real instant (an object's LastModified) afterwards.
        self._advances: list[tuple[datetime, timedelta]] = []
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return (self._start or utc_now()) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._offset += delta
            self._advances.append((utc_now(), self._offset))
        return self()

    def of_real(self, moment: datetime) -> datetime:
        """The stack's time at a real instant: the instant plus the offset in effect then.

        moto stamps what it stores (an S3 object's LastModified) with real time; an object
        written after the clock moved a month ahead is new in the stack's time, not a month old.
        """
        with self._lock:
            offset = timedelta()
            for when, after in self._advances:
                if when > moment:
                    break
                offset = after
        return moment + offset


@dataclass(frozen=True)
class AppSchedule:
    """A schedule an app declares itself (`@app.schedule`): fired by calling its handler."""

    arn: str
    expression: str
    deliver: Callable[[dict[str, Any]], object]


class Clock:
    def __init__(
        self,
        *,
        region: str,
        account: str,
        now: Now = utc_now,
        interval: float = 1.0,
        app_schedules: list[AppSchedule] | None = None,
    ) -> None:
        self.region = region
        self.account = account
        self.now = now
        self.interval = interval
        self._app_schedules = app_schedules or []
        # One attempt per call: a failing target must not be delivered twice by a retry.
        config = Config(retries={"total_max_attempts": 1})
        self._events = boto3.client("events", config=config)
        self._sqs = boto3.client("sqs", config=config)
        self._sfn = boto3.client("stepfunctions", config=config)
        self._due: dict[str, tuple[schedules.Schedule, datetime]] = {}
        self._invalid: set[tuple[str, str]] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick_lock = threading.Lock()
        self._swept_at: datetime | None = None
        self._s3 = boto3.client("s3", config=config)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="clock", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.tick()
            except Exception:
                log.exception("clock tick failed")

    def tick(self) -> list[str]:
        """Fires whatever is due now; returns the ARNs of the rules (and app schedules) fired."""
        with self._tick_lock:  # the thread and a test (or /_local/clock) may tick together
            now = self.now()
            fired = []
            seen = set()
            for arn, expression, fire in self._schedules():
                seen.add(arn)
                due = self._take_due(arn, expression, now)
                if due is None:
                    continue
                log.info("schedule %s fired (due %s)", arn.rsplit("/", 1)[-1], due.isoformat())
                try:
                    fire(self._scheduled_event(arn, due))
                except Exception:
                    log.exception("scheduled %s failed", arn)
                fired.append(arn)
            for arn in set(self._due) - seen:  # deleted or disabled rules start afresh
                del self._due[arn]
            if self._swept_at is None or now - self._swept_at >= SWEEP_EVERY:
                self._swept_at = now
                try:
                    self.sweep_buckets(now)
                except Exception:
                    log.exception("lifecycle sweep failed")
            return fired

    def sweep_buckets(self, now: datetime) -> int:
        """Deletes what the buckets' lifecycle rules expire by `now`; how many objects went."""
        deleted = 0
        for bucket in self._s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            try:
                rules = self._s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
            except ClientError:
                continue  # no lifecycle configuration
            for rule in rules:
                days = rule.get("Expiration", {}).get("Days")
                if rule.get("Status") != "Enabled" or not days:
                    continue
                prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
                cutoff = now - timedelta(days=days)
                pages = self._s3.get_paginator("list_objects_v2").paginate(
                    Bucket=name, Prefix=prefix
                )
                for page in pages:
                    old = [
                        {"Key": item["Key"]}
                        for item in page.get("Contents", [])
                        if self._stack_time(item["LastModified"]) <= cutoff
                    ]
                    if old:
                        self._s3.delete_objects(Bucket=name, Delete={"Objects": old})  # type: ignore[typeddict-item]
                        deleted += len(old)
        return deleted

    def _stack_time(self, real: datetime) -> datetime:
        of_real = getattr(self.now, "of_real", None)
        return of_real(real) if of_real is not None else real

    def _take_due(self, arn: str, expression: str, now: datetime) -> datetime | None:
        """The firing time that is due now, if any, and moves the rule to its next one."""
        known = self._due.get(arn)
        if known is None or known[0].expression != expression.strip():
            if (arn, expression) in self._invalid:
                return None
            try:
                schedule = schedules.parse(expression, anchor=now)
            except ValueError as exc:
                log.error("ignoring the schedule of %s: %s", arn, exc)
                self._invalid.add((arn, expression))
                return None
            # First sight: the first firing is one period (or cron occurrence) from now.
            self._due[arn] = (schedule, schedule.next_after(now))
            return None
        schedule, due = known
        if due > now:
            return None
        # Behind (time advanced, laptop asleep): one firing, at the latest time missed. Jobs
        # that act on the event's time (expire what is due by then) then see the present.
        following = schedule.next_after(due)
        while following <= now:
            due, following = following, schedule.next_after(following)
        self._due[arn] = (schedule, following)
        return due

    def _schedules(self) -> list[tuple[str, str, Callable[[dict[str, Any]], object]]]:
        found: list[tuple[str, str, Callable[[dict[str, Any]], object]]] = [
            (s.arn, s.expression, s.deliver) for s in self._app_schedules
        ]
        for page in self._events.get_paginator("list_rules").paginate(EventBusName="default"):
            for rule in page.get("Rules", []):
                expression = rule.get("ScheduleExpression")
                if expression and rule.get("State") == "ENABLED":
                    name = rule["Name"]
                    found.append((rule["Arn"], expression, self._rule_delivery(name)))
        return found

    def _scheduled_event(self, arn: str, due: datetime) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account,
            "time": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [arn],
            "detail": {},
        }

    def _rule_delivery(self, rule: str) -> Callable[[dict[str, Any]], object]:
        def deliver(event: dict[str, Any]) -> None:
            targets = self._events.list_targets_by_rule(Rule=rule, EventBusName="default")
            for target in targets.get("Targets", []):
                try:
                    self._deliver(target, event)
                except Exception:
                    log.exception("rule %s: delivery to %s failed", rule, target["Arn"])

        return deliver

    def _deliver(self, target: TargetOutputTypeDef, event: dict[str, Any]) -> None:
        body = target_input(target, event)
        arn = target["Arn"]
        service = arn.split(":")[2]
        if service == "sqs":
            name, owner = arn.split(":")[5], arn.split(":")[4]
            url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"]
            extra: dict[str, str] = {}
            group = target.get("SqsParameters", {}).get("MessageGroupId")
            if group:  # FIFO queue
                extra = {"MessageGroupId": group, "MessageDeduplicationId": event["id"]}
            self._sqs.send_message(QueueUrl=url, MessageBody=body, **extra)  # type: ignore[arg-type]
        elif service == "states":
            self._sfn.start_execution(stateMachineArn=arn, input=body, name=event["id"])
        else:
            log.warning("scheduled targets of type %s are not run locally (%s)", service, arn)


def target_input(target: TargetOutputTypeDef, event: dict[str, Any]) -> str:
    """What EventBridge sends a target: the event, or what Input / InputPath / InputTransformer
    make of it."""
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        return json.dumps(_json_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        text = transformer["InputTemplate"]
        for name, path in transformer.get("InputPathsMap", {}).items():
            value = _json_path(event, path)
            # Strings go in raw (the template quotes them), anything else as JSON.
            text = text.replace(f"<{name}>", value if isinstance(value, str) else json.dumps(value))
        return text.replace("<aws.events.event.json>", json.dumps(event))
    return json.dumps(event)


def _json_path(event: dict[str, Any], path: str) -> Any:
    """The `$.a.b` subset of JSONPath that EventBridge targets use."""
    value: Any = event
    for part in path.removeprefix("$").strip(".").split("."):
        if part:
            value = value.get(part) if isinstance(value, dict) else None
    return value
