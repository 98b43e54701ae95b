"""Imports: reading a file (rows/s and peak memory, beside a bare csv.reader) and previewing it
end to end (rows/s through the exports and customers services, and the AWS requests per row).

Reading is our code alone, no AWS: a generated Mailchimp-like CSV (default 1,000,000 rows) goes
through `read_rows` and the chunking the exports service does, and the same file through a bare
`csv.reader`, in the same run. Peak memory (tracemalloc) is taken over the whole file and over a
tenth of it: flat means the two are alike. The preview runs the real path against moto: the
file is uploaded through the API, read by `run_imports`, and each chunk planned by the customers
service (`on_inbound_event`) and answered, one after another, drained in this thread
(`clientela_local.drain`); the store holds customers that a fifth of the rows match.
"""

from __future__ import annotations

import csv
import json
import random
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalice.test import Client

from bench.stack import LocalStack
from bench.text import heading, number, table
from clientela import auth, csvsafe

STORE = "bench-imports"
HEADER = ["Email Address", "First Name", "Last Name", "Phone Number", "CC", "TAGS", "OPTIN_TIME"]
NAMES = ["Ana", "João", "María José", "Giulia", "Zoë", "Émile", "Lúcia", "Bruno"]


def _row(n: int, rng: random.Random) -> list[str]:
    bad = n % 20 == 7  # 5 % refused
    email = f"person{n}@example.com" if not bad else f"person{n}@@example"
    phone = f"+55119{rng.randrange(10_000_000, 99_999_999)}" if n % 3 == 0 else ""
    return [
        email,
        rng.choice(NAMES),
        "Silva",
        phone,
        "BR",
        "newsletter" if n % 2 else "",
        "2026-01-02 10:00:00",
    ]


def write_file(path: Path, rows: int, *, first: int = 0) -> int:
    rng = random.Random(rows)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        for n in range(first, first + rows):
            writer.writerow(_row(n, rng))
    return path.stat().st_size


@dataclass
class Reading:
    rows: int
    size: int
    ours_seconds: float
    bare_seconds: float
    chunks: int
    peak_full: int
    peak_tenth: int


def _ours(path: Path) -> tuple[int, int]:
    from chalicelib.exports.imports import rules  # noqa: PLC0415
    from chalicelib.exports.imports.usecases import _chunks  # noqa: PLC0415

    reading, rows, chunks = rules.Reading(), 0, 0
    with path.open("rb") as stream:
        for chunk in _chunks(rules.read_rows(stream, reading, restore=csvsafe.restore)):
            rows += len(chunk)
            chunks += 1
    return rows, chunks


def _bare(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as stream:
        return sum(1 for _ in csv.reader(stream)) - 1


def _peak(path: Path) -> int:
    tracemalloc.start()
    try:
        _ours(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_reading(rows: int) -> Reading:
    with tempfile.TemporaryDirectory(prefix="clientela-bench-imports-") as scratch:
        full, tenth = Path(scratch) / "full.csv", Path(scratch) / "tenth.csv"
        size = write_file(full, rows)
        write_file(tenth, max(rows // 10, 1))
        started = time.perf_counter()
        read, chunks = _ours(full)
        ours = time.perf_counter() - started
        assert read == rows, (read, rows)
        started = time.perf_counter()
        assert _bare(full) == rows
        bare = time.perf_counter() - started
        return Reading(rows, size, ours, bare, chunks, _peak(full), _peak(tenth))


@dataclass
class Preview:
    rows: int
    existing: int
    seconds: float
    counts: dict[str, int]
    chunks: int
    requests: dict[str, int] = field(default_factory=dict)


def run_preview(stack: LocalStack, rows: int, existing: int) -> Preview:
    from clientela_local.drain import import_drain  # noqa: PLC0415

    stack.reset()
    token = auth.issue_token(STORE, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    with Client(stack.apps["customers"].app) as customers:
        for n in range(0, existing * 5, 5):  # every fifth person of the file is a customer
            body = f'{{"email": "person{n}@example.com", "first_name": "Ana"}}'
            answer = customers.http.post("/customers", headers=headers, body=body)
            assert answer.status_code == 201, answer.body
    with tempfile.TemporaryDirectory(prefix="clientela-bench-imports-") as scratch:
        path = Path(scratch) / "preview.csv"
        write_file(path, rows)
        content = path.read_text(encoding="utf-8")
    drain = import_drain(stack.apps["exports"].module, stack.apps["customers"].module, STORE)
    with Client(stack.apps["exports"].app) as exports, stack.measure("preview", rows) as measured:
        started = time.perf_counter()
        answer = exports.http.post(
            "/imports", headers=headers, body=json.dumps({"content": content, "filename": "a.csv"})
        )
        assert answer.status_code == 202, answer.body
        job_id = json.loads(answer.body)["id"]
        drain.run()
        seconds = time.perf_counter() - started
        job = json.loads(exports.http.get(f"/imports/{job_id}", headers=headers).body)
    assert job["status"] == "previewed", job
    requests = dict(sorted(measured.usage.requests.items()))
    return Preview(rows, existing, seconds, job["preview"], drain.delivered, requests)


def run(stack: LocalStack, rows: int, preview_rows: int) -> dict[str, Any]:
    return {
        "reading": run_reading(rows),
        "preview": run_preview(stack, preview_rows, existing=preview_rows // 5),
    }


def as_json(found: dict[str, Any]) -> dict[str, Any]:
    reading: Reading = found["reading"]
    preview: Preview = found["preview"]
    return {
        "reading": {
            "rows": reading.rows,
            "bytes": reading.size,
            "rows_per_second": round(reading.rows / reading.ours_seconds),
            "bare_csv_rows_per_second": round(reading.rows / reading.bare_seconds),
            "ratio_to_bare_csv": round(reading.ours_seconds / reading.bare_seconds, 1),
            "chunks": reading.chunks,
            "peak_memory_bytes": reading.peak_full,
            "peak_memory_bytes_tenth": reading.peak_tenth,
        },
        "preview": {
            "rows": preview.rows,
            "existing_customers": preview.existing,
            "rows_per_second": round(preview.rows / preview.seconds, 1),
            "seconds": round(preview.seconds, 2),
            "counts": preview.counts,
            "deliveries": preview.chunks,
            "requests_per_1000_rows": {
                k: round(v * 1000 / preview.rows, 1) for k, v in preview.requests.items()
            },
        },
    }


def render(found: dict[str, Any]) -> str:
    data = as_json(found)
    r, p = data["reading"], data["preview"]
    mib = 1024 * 1024
    lines = [
        heading("Imports: reading a file (our code, no AWS)"),
        table(
            ["rows", "MB", "ours rows/s", "bare csv.reader rows/s", "ours / bare", "chunks"],
            [
                [
                    number(r["rows"], 0),
                    number(r["bytes"] / mib, 1),
                    number(r["rows_per_second"], 0),
                    number(r["bare_csv_rows_per_second"], 0),
                    number(r["ratio_to_bare_csv"], 1),
                    number(r["chunks"], 0),
                ]
            ],
        ),
        f"  peak memory (tracemalloc): {number(r['peak_memory_bytes'] / mib, 2)} MiB for the "
        f"whole file, {number(r['peak_memory_bytes_tenth'] / mib, 2)} MiB for a tenth of it",
        heading("Imports: preview end to end (exports -> customers -> exports, on moto)"),
        table(
            ["rows", "existing", "seconds", "rows/s", "deliveries", "counts"],
            [
                [
                    number(p["rows"], 0),
                    number(p["existing_customers"], 0),
                    number(p["seconds"], 2),
                    number(p["rows_per_second"], 1),
                    number(p["deliveries"], 0),
                    ", ".join(f"{k} {v}" for k, v in p["counts"].items()),
                ]
            ],
        ),
        "  AWS requests per 1,000 rows: "
        + ", ".join(f"{k} {number(v, 1)}" for k, v in p["requests_per_1000_rows"].items()),
        "  (moto's time, not AWS's: read the requests, and the reading rows/s, for our own cost)",
    ]
    return "\n".join(lines)
