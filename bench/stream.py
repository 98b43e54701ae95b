"""The stream publisher: table writes -> stream batches -> `publish_customer_changes` -> bus.

For each workload of 100 customer writes (creates, updates, deletes: one through the API, 99
copies of it, see copies.py) the table's stream records are read back with the bench's own
unmetered client, cut into batches of the mapping's batch size and handed to the handler as
Lambda would, while the meter counts what the handler sends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chalice.app import DynamoDBEventConfig
from chalice.test import Client

from bench.api import Api, BenchError, profile
from bench.copies import Copies, customers_table
from bench.stack import REGION, LocalStack, Measurement
from bench.streamread import StreamReader, lambda_record
from bench.text import heading, number, table
from clientela_local.lambda_context import new_context

STORE = "bench-stream"
WRITES = 100
ACCOUNT = "123456789012"
EVENT_BILLING_CHUNK = 64 * 1024  # EventBridge bills each 64 KB of an entry as one event


@dataclass
class Workload:
    measurement: Measurement
    customer_writes: int
    records: int
    invocations: int
    batch_size: int


class _Writes:
    """The three workloads on the same customers: one through the API, the rest copies of it."""

    def __init__(self, stack: LocalStack, api: Api) -> None:
        self.stack = stack
        self.api = api
        self.customer: dict[str, Any] = {}
        self.copies: Copies | None = None

    def create(self) -> None:
        self.customer = self.api.create(profile(0))
        self.copies = Copies(self.stack, self.customer, WRITES - 1, first=1)
        self.copies.follow()

    def update(self) -> None:
        self.customer = self.api.patch(self.customer, {"last_name": "Pérez"})
        assert self.copies is not None
        self.copies.follow()

    def delete(self) -> None:
        self.api.delete(self.customer)
        assert self.copies is not None
        self.copies.follow()


def run(stack: LocalStack) -> list[Workload]:
    stack.reset()
    loaded = stack.apps["customers"]
    (source,) = [s for s in loaded.app.event_sources if isinstance(s, DynamoDBEventConfig)]
    reader = StreamReader(stack, customers_table())
    results = []
    with Client(loaded.app) as client:
        writes = _Writes(stack, Api(client, STORE))
        workloads = [
            (f"{WRITES} creates (with e-mail)", writes.create),
            (f"{WRITES} updates (name)", writes.update),
            (f"{WRITES} deletes", writes.delete),
        ]
        for name, write in workloads:
            reader.read()  # skip anything older
            write()
            records = [lambda_record(r, reader.arn) for r in reader.read()]
            results.append(_publish(stack, loaded, source, name, records))
    return results


def _publish(
    stack: LocalStack, loaded: Any, source: Any, name: str, records: list[dict[str, Any]]
) -> Workload:
    """Invokes the handler with the records in batches, as the event source mapping would."""
    handler_name = source.handler_string.rsplit(".", 1)[-1]
    size = source.batch_size
    batches = [records[i : i + size] for i in range(0, len(records), size)]
    with stack.measure(name, len(records)) as measurement:
        for batch in batches:
            context = new_context(
                loaded.app.app_name,
                handler_name,
                region=REGION,
                account=ACCOUNT,
                memory_mb=loaded.memory_mb,
                timeout_seconds=loaded.timeout_seconds,
            )
            answer = getattr(loaded.module, handler_name)({"Records": batch}, context)
            if answer.get("batchItemFailures"):
                raise BenchError(f"{name}: the publisher reported failures: {answer}")
    return Workload(measurement, WRITES, len(records), len(batches), size)


HEADERS = [
    "workload", "stream records", "invocations", "events", "PutEvents calls", "events/call",
    "PutEvents/record", "PutEvents/write", "entry bytes (mean)", "billed events",
    "other requests",
]  # fmt: skip


def _row(w: Workload) -> list[str]:
    usage = w.measurement.usage
    calls = len(usage.put_events_entries)
    events = sum(usage.put_events_entries)
    sizes = usage.event_entry_bytes
    other = {k: n for k, n in usage.requests.items() if k != "events:PutEvents"}
    return [
        w.measurement.name,
        str(w.records),
        f"{w.invocations} x {w.batch_size}",
        str(events),
        str(calls),
        number(events / calls if calls else 0),
        number(calls / w.records if w.records else 0, 3),
        number(calls / w.customer_writes, 3),
        number(sum(sizes) / len(sizes) if sizes else 0, 0),
        str(sum(math.ceil(size / EVENT_BILLING_CHUNK) for size in sizes)),
        ", ".join(f"{k} x{n}" for k, n in other.items()) or "0",
    ]


def render(workloads: list[Workload]) -> str:
    notes = (
        "  A stream record per item written: an e-mail reservation item writes its own record,\n"
        "  which the publisher skips. 'invocations' = Lambda batches at the mapping's batch size.\n"
        "  Reading the stream for a Lambda trigger is free on AWS. moto check: "
        + ("ok" if all(not w.measurement.unmetered for w in workloads) else "MISSED requests")
    )
    title = heading("Stream publisher: customer writes -> EventBridge")
    return f"{title}\n{table(HEADERS, [_row(w) for w in workloads])}\n\n{notes}"


def as_json(workloads: list[Workload]) -> list[dict[str, Any]]:
    return [
        {
            "workload": w.measurement.name,
            "customer_writes": w.customer_writes,
            "stream_records": w.records,
            "invocations": w.invocations,
            "batch_size": w.batch_size,
            "put_events_entries": w.measurement.usage.put_events_entries,
            "event_entry_bytes": w.measurement.usage.event_entry_bytes,
            "requests": dict(w.measurement.usage.requests),
            "unmetered": w.measurement.unmetered,
        }
        for w in workloads
    ]
