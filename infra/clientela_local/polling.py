"""What every local event source mapping shares: the polling thread, its target and settings."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from clientela_local import cfn
from clientela_local.apps import LoadedApp
from clientela_local.lambda_context import LambdaContext, new_context

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.2
# A poller that keeps finding nothing rests longer between polls, up to this: an idle stack
# otherwise spent a quarter of a core asking moto about empty streams and queues (every test
# session runs two stacks). Any sign of work ends a rest at once (see Activity.rest).
QUIET_POLLS_BEFORE_RESTING = 5
LONGEST_REST_SECONDS = 1.6


class Activity:
    """A counter every poller bumps after doing work, to tell when the whole system is quiet.

    A poller records the counter's value when it starts a poll that then finds nothing. Once
    every poller has done such an empty poll *since the last bump anywhere*, no work is left:
    work only appears from outside (before `wait_idle` bumps the counter) or from a handler
    (which bumps it).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._value = 0

    def bump(self) -> int:
        """Records work (or a request from outside that may have brought some): every resting
        poller wakes up and polls."""
        with self._changed:
            self._value += 1
            self._changed.notify_all()
            return self._value

    @property
    def value(self) -> int:
        with self._changed:
            return self._value

    def rest(self, seconds: float, seen: int) -> None:
        """Sleeps up to `seconds`, less if the counter moves past `seen`."""
        with self._changed:
            self._changed.wait_for(lambda: self._value != seen, timeout=seconds)


@dataclass(frozen=True)
class Target:
    """The function a mapping invokes: one handler of one loaded app."""

    app: LoadedApp
    handler_name: str
    region: str
    account: str

    @property
    def label(self) -> str:
        return f"{self.app.service}.{self.handler_name}"

    @property
    def function_arn(self) -> str:
        return self.context().invoked_function_arn

    def context(self) -> LambdaContext:
        return new_context(
            self.app.app.app_name,
            self.handler_name,
            region=self.region,
            account=self.account,
            memory_mb=self.app.memory_mb,
            timeout_seconds=self.app.timeout_seconds,
        )

    def invoke(self, event: dict[str, Any]) -> Any:
        return self.app.invoke(self.handler_name, event, self.context())


@dataclass(frozen=True)
class MappingSettings:
    """What the merge template says about a handler's event source mapping."""

    report_batch_item_failures: bool = True
    # -1 (AWS's default for stream mappings): retry until the batch succeeds.
    maximum_retry_attempts: int = -1
    # -1 (AWS's default): records are never discarded for their age.
    maximum_record_age_seconds: int = -1
    on_failure_queue_name: str | None = None


def mapping_settings(template: Path, handler_name: str) -> MappingSettings:
    """Reads `Resources.<Handler>.Properties.Events.*.Properties` from a service template.

    Without a template (or without the mapping in it) the defaults apply: batch item failures
    honoured, retries without limit and no maximum record age (as AWS when they are omitted),
    no failure destination.
    """
    if not template.is_file():
        return MappingSettings()
    resources = cfn.load(template).get("Resources", {})
    function = resources.get(to_cfn_resource_name(handler_name), {})
    events = function.get("Properties", {}).get("Events", {})
    for event in events.values():
        props = event.get("Properties", {})
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        return MappingSettings(
            report_batch_item_failures="ReportBatchItemFailures"
            in props.get("FunctionResponseTypes", []),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
            on_failure_queue_name=_queue_name(resources, destination),
        )
    return MappingSettings()


def _queue_name(resources: dict[str, Any], destination: Any) -> str | None:
    """`!GetAtt Queue.Arn` -> that queue's QueueName (a literal ARN -> its last part)."""
    if isinstance(destination, str):
        return destination.rsplit(":", 1)[-1]
    if isinstance(destination, dict) and "Fn::GetAtt" in destination:
        logical_id = destination["Fn::GetAtt"][0]
        name = resources.get(logical_id, {}).get("Properties", {}).get("QueueName")
        return name if isinstance(name, str) else None
    return None


def failed_item_ids(result: Any, batch_ids: list[str]) -> set[str] | None:
    """The ids a handler reported as failed; None means the whole batch failed.

    Lambda treats a malformed report (an id that is not in the batch, an empty id) as a failure
    of the whole batch, and so do we.
    """
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failures = result["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    ids = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not item or item not in batch_ids:
            return None
        ids.add(str(item))
    return ids


def resting_time(interval: float, quiet_polls: int) -> float:
    """How long a poller waits before its next poll, after `quiet_polls` empty ones in a row."""
    doublings = max(quiet_polls - QUIET_POLLS_BEFORE_RESTING, 0)
    longest = max(LONGEST_REST_SECONDS, interval)
    return float(min(interval * 2 ** min(doublings, 16), longest))


class Poller(threading.Thread):
    """One mapping's polling loop. Subclasses implement `poll_once`: True if it did any work."""

    def __init__(self, target: Target, activity: Activity, interval: float) -> None:
        super().__init__(name=f"poller:{target.label}", daemon=True)
        self.target = target
        self.activity = activity
        self.interval = interval
        self.idle_since = -1
        self._stopping = threading.Event()
        self._invoked_at = 0.0

    def poll_once(self) -> bool:
        raise NotImplementedError

    def run(self) -> None:
        quiet_polls = 0
        while not self._stopping.is_set():
            mark = self.activity.value
            try:
                worked = self.poll_once()
            except Exception:
                # A poller must survive a bad moment (e.g. a resource not created yet); it
                # counts as busy so `wait_idle` does not report a failing system as quiet.
                log.exception("%s: poll failed", self.name)
                worked = True
            if worked:
                self.activity.bump()
                quiet_polls = 0
            else:
                self.idle_since = mark
                quiet_polls += 1
            rest = resting_time(self.interval, quiet_polls)
            if rest <= self.interval:
                # Busy or just quiet: the usual pace, not woken by others' work (twenty pollers
                # polling on every bump would slow the busy moments down).
                self._stopping.wait(self.interval)
            else:
                self.activity.rest(rest, seen=mark)

    def stop(self) -> None:
        self._stopping.set()

    def invoke(self, event: dict[str, Any]) -> tuple[Any, bool]:
        """Calls the handler; returns (result, raised). A raise fails the whole batch."""
        self._invoked_at = time.perf_counter()
        try:
            return self.target.invoke(event), False
        except Exception:
            log.exception("%s raised: the whole batch failed", self.target.label)
            return None, True

    def log_batch(self, source: str, size: int, failed: int) -> None:
        """One line per invocation, like the gateway's per request: no record contents."""
        elapsed = (time.perf_counter() - self._invoked_at) * 1000
        log.info(
            "%s -> %s %d records, %d failed %.0fms",
            source,
            self.target.label,
            size,
            failed,
            elapsed,
        )
