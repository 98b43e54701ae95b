"""Counting what the app's AWS clients do, with botocore event hooks on the client objects.

`before-parameter-build` keeps the API parameters, `before-call` (just before sending) lets the
DynamoDB billing read the sizes a write will change, and `after-call` (every answer, errors
included) counts the request and bills it. Retries inside one call are counted from the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.billing import DynamoDBBilling
from bench.usage import Usage

_PARAMS = "bench.params"
_WRITES = "bench.writes"


def entry_size(entry: dict[str, Any]) -> int:
    """Size of a PutEvents entry as EventBridge counts it (Time counts 14 bytes)."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode())
    return size + sum(len(resource.encode()) for resource in entry.get("Resources", []))


class Meter:
    """Hooks on clients; what they do inside `measure()` lands in that measurement's Usage."""

    def __init__(self, billing: DynamoDBBilling) -> None:
        self._billing = billing
        self._usage: Usage | None = None

    def instrument(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-parameter-build", self._keep_params)
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)

    @contextmanager
    def measure(self) -> Iterator[Usage]:
        usage = Usage()
        self._usage = usage
        try:
            yield usage
        finally:
            self._usage = None

    def _keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = params

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        if self._usage is not None and model.service_model.service_name == "dynamodb":
            context[_WRITES] = self._billing.before(model.name, context.get(_PARAMS, {}))

    def _after_call(
        self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        usage = self._usage
        if usage is None:
            return
        service, api = model.service_model.service_name, model.name
        params = context.get(_PARAMS, {})
        usage.requests[f"{service}:{api}"] += 1
        usage.retries += int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        if service == "dynamodb":
            self._billing.after(api, params, parsed, context.get(_WRITES, []), usage)
        elif (service, api) == ("events", "PutEvents"):
            entries = params.get("Entries", [])
            usage.put_events_entries.append(len(entries))
            usage.event_entry_bytes.extend(entry_size(entry) for entry in entries)
