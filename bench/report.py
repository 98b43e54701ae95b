"""The API section as text and as JSON: per-request means of each measured operation."""

from __future__ import annotations

from typing import Any

from bench.stack import Measurement
from bench.text import heading, number, table
from bench.usage import TableUse

LEGEND = """\
  Per request: mean over n requests. Bytes: DynamoDB item sizes (attribute names + values).
  RCU: 4 KB read units (strongly consistent 1, eventually consistent 0.5; a query adds up its
  items first; a miss still costs 1). WCU: 1 KB write units per item, on the larger of the item
  before and after (a delete bills the deleted item; a failed condition still bills).
  Transactions count double. On-demand bills these as read / write request units; '+' marks a
  lower bound. 'moto check': requests moto received that no hook counted ('ok': none).
  Secrets: the authorizer reads the signing key, list routes the cursor key (each cached for
  5 min): the first create fetches the signing key, the first list the cursor key. On AWS the
  authorizer is a function of its own; each execution environment fetches on first use and
  every 5 minutes after."""

SERVICES = ("events", "secretsmanager", "sqs")
HEADERS = [
    "operation", "n", "DynamoDB requests", "items R", "bytes R", "RCU",
    "items W", "bytes W", "WCU", "EventBridge", "Secrets", "SQS", "moto check",
]  # fmt: skip
BREAKDOWN_HEADERS = [
    "operation", "API", "table", "requests", "items R", "bytes R", "RCU",
    "items W", "bytes W", "WCU",
]  # fmt: skip


def _mean(total: float, samples: int, digits: int = 2) -> str:
    return number(total / samples, digits)


def _cells(use: TableUse, n: int) -> list[str]:
    """items R, bytes R, RCU, items W, bytes W, WCU: per request."""
    return [
        _mean(use.items_read, n),
        _mean(use.bytes_read, n, 0),
        _mean(use.read_units, n) + ("+" if use.lower_bound else ""),
        _mean(use.items_written, n),
        _mean(use.bytes_written, n, 0),
        _mean(use.write_units, n),
    ]


def dynamodb_calls(m: Measurement) -> str:
    parts = []
    for api, count in m.usage.requests_of("dynamodb").items():
        mean = count / m.samples
        parts.append(api if mean == 1 else f"{api} x{number(mean)}")
    return " + ".join(parts) or "-"


def _check(m: Measurement) -> str:
    missing = m.unmetered
    return "ok" if not missing else "MISSED " + ", ".join(f"{k} x{n}" for k, n in missing.items())


def _row(m: Measurement) -> list[str]:
    others = [_mean(sum(m.usage.requests_of(s).values()), m.samples) for s in SERVICES]
    cells = _cells(m.usage.combined(), m.samples)
    return [m.name, str(m.samples), dynamodb_calls(m), *cells, *others, _check(m)]


def _breakdown(results: list[Measurement]) -> list[list[str]]:
    rows = []
    for m in results:
        label = m.name
        for (api, name), use in sorted(m.usage.tables.items()):
            rows.append([label, api, name, _mean(use.requests, m.samples), *_cells(use, m.samples)])
            label = ""
    return rows


def render_api(results: list[Measurement]) -> str:
    retries = sum(m.usage.retries for m in results)
    return "\n".join(
        [
            heading("Customers API: AWS requests and capacity per request"),
            table(HEADERS, [_row(m) for m in results]),
            "",
            LEGEND,
            f"  SDK retries during the run: {retries}.",
            "",
            "  By API and table (per request):",
            table(BREAKDOWN_HEADERS, _breakdown(results), indent=4),
        ]
    )


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
