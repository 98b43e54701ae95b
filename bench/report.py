"""The API section as text and as JSON: per-request means of each measured operation."""

from __future__ import annotations

from typing import Any

from bench.stack import Measurement
from bench.text import number, table

LEGEND = """\
  Per request, mean over n requests. Bytes are DynamoDB item sizes (attribute names + values).
  RCU: 4 KB units (strongly consistent 1, eventually consistent 0.5; a query sums its items
  first). WCU: 1 KB units per item written, on the larger of the item before and after (a
  delete bills the deleted item). Transactions count double. On-demand bills these as read /
  write request units. "moto check": requests moto received that the hooks did not count."""


def _per_request(count: float, samples: int) -> str:
    return number(count / samples)


def dynamodb_calls(measurement: Measurement) -> str:
    calls = measurement.usage.requests_of("dynamodb")
    parts = []
    for api, count in calls.items():
        mean = count / measurement.samples
        parts.append(api if mean == 1 else f"{api} x{number(mean)}")
    return " + ".join(parts) or "-"


def _check(measurement: Measurement) -> str:
    missing = measurement.unmetered
    return "ok" if not missing else "MISSED " + ", ".join(f"{k} x{n}" for k, n in missing.items())


def api_rows(results: list[Measurement]) -> list[list[str]]:
    rows = []
    for m in results:
        usage, n = m.usage, m.samples

        def mean(name: str, usage: Any = usage, n: int = n) -> str:
            return _per_request(usage.total(name), n)

        rows.append(
            [
                m.name,
                str(n),
                dynamodb_calls(m),
                mean("items_read"),
                mean("bytes_read"),
                mean("read_units") + ("+" if usage.lower_bound else ""),
                mean("items_written"),
                mean("bytes_written"),
                mean("write_units"),
                *(
                    _per_request(sum(usage.requests_of(s).values()), n)
                    for s in ("events", "secretsmanager", "sqs")
                ),
                _check(m),
            ]
        )
    return rows


API_HEADERS = [
    "operation",
    "n",
    "DynamoDB requests",
    "items R",
    "bytes R",
    "RCU",
    "items W",
    "bytes W",
    "WCU",
    "EventBridge",
    "Secrets",
    "SQS",
    "moto check",
]


def breakdown_rows(results: list[Measurement]) -> list[list[str]]:
    rows = []
    for m in results:
        label = m.name
        for (api, name), use in sorted(m.usage.tables.items()):
            n = m.samples
            rows.append(
                [
                    label,
                    api,
                    name,
                    _per_request(use.requests, n),
                    _per_request(use.items_read, n),
                    _per_request(use.bytes_read, n),
                    _per_request(use.read_units, n),
                    _per_request(use.items_written, n),
                    _per_request(use.bytes_written, n),
                    _per_request(use.write_units, n),
                ]
            )
            label = ""
    return rows


BREAKDOWN_HEADERS = [
    "operation",
    "API",
    "table",
    "requests",
    "items R",
    "bytes R",
    "RCU",
    "items W",
    "bytes W",
    "WCU",
]


def render_api(results: list[Measurement]) -> str:
    retries = sum(m.usage.retries for m in results)
    lines = [
        table(API_HEADERS, api_rows(results)),
        "",
        LEGEND,
        f"  SDK retries during the run: {retries}.",
        "",
        "  By API and table (per request):",
        table(BREAKDOWN_HEADERS, breakdown_rows(results), indent=4),
    ]
    return "\n".join(lines)


def api_json(results: list[Measurement]) -> list[dict[str, Any]]:
    return [
        {
            "operation": m.name,
            "samples": m.samples,
            "requests": dict(m.usage.requests),
            "retries": m.usage.retries,
            "dynamodb": [
                {"api": api, "table": name, **use.as_dict()}
                for (api, name), use in sorted(m.usage.tables.items())
            ],
            "moto_received": m.received,
            "unmetered": m.unmetered,
        }
        for m in results
    ]
