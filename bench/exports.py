"""Export assembly at scale: 100 000 and 1 000 000 generated customers to CSV and to XLSX,
through the real code path against moto, with the peak memory of the process that does it.

Per size, the rows are written into the exports bucket as an owner writes them (parts of
2 000 JSON lines) and the job is recorded with every part counted; then, per format, a fresh
process (the exports app alone, as a Lambda would hold it) runs `usecases.assemble` on it: it
streams the parts from S3, writes the file (CSV into a multipart upload; XLSX through
xlsxwriter's constant-memory mode into a temporary file, then up part by part). That process
reports its resident memory before and its peak during the assembly (VmHWM), and its rows per
second.
In the same process, afterwards, a bare `csv.writer` / bare xlsxwriter (constant memory) write
the same rows (generated in memory, to a local file): the ratio is what our code costs on top
(reading the parts, JSON, the cells' rules, the upload to moto). Finally the file is downloaded
and read back (csv module / openpyxl): row count and a sample of rows must match.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from bench.stack import LocalStack
from bench.text import heading, number, table

STORE = "bench-exports-store"
PART_ROWS = 2000
SIZES = (100_000, 1_000_000)
FIELDS = ["id", "email", "phone", "first_name", "total_spent", "currency", "created_at"]
SAMPLE = (0, 1, 999, 1000, 65_535, 99_999, 500_000, 999_999)


def row(n: int) -> dict[str, Any]:
    """The n-th generated customer (1 in 1 000 has a first name a spreadsheet would run)."""
    return {
        "id": f"01JD{n:022d}",
        "email": f"person{n}@example.com",
        "phone": f"+55119{n:08d}",
        "first_name": "=SUM(A1:A9)" if n % 1000 == 0 else f"Ana {n}",
        "total_spent": f"{n % 100_000}.{n % 100:02d}",
        "currency": "BRL",
        "created_at": "2026-11-23T12:00:00+00:00",
    }


@dataclass
class Result:
    rows: int
    format: str
    seconds: float
    bare_seconds: float
    baseline_mb: float
    peak_mb: float
    size: int
    files: int
    sheets: int
    verified: bool

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def bare_rate(self) -> float:
        return self.rows / self.bare_seconds


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc: `ru_maxrss` would report the
    parent's size, which a spawned child inherits on Linux."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Peak RSS from now on (Linux 4.0+: writing 5 to clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def _bare(file_format: str, rows: int) -> float:
    """Seconds for a bare writer to write the same rows to a local file."""
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, f"bare.{file_format}")
        started = time.perf_counter()
        if file_format == "csv":
            with open(path, "w", encoding="utf-8-sig", newline="") as out:
                writer = csv.writer(out, lineterminator="\r\n")
                writer.writerow(FIELDS)
                for n in range(rows):
                    writer.writerow(list(row(n).values()))
        else:
            import xlsxwriter  # type: ignore[import-untyped]  # noqa: PLC0415

            book = xlsxwriter.Workbook(path, {"constant_memory": True})
            sheet = book.add_worksheet()
            sheet.write_row(0, 0, FIELDS)
            for n in range(rows):
                sheet.write_row(n + 1, 0, list(row(n).values()))
            book.close()
        return time.perf_counter() - started


def _assemble_in_child(
    endpoint: str, environment: dict[str, str], job_id: str, file_format: str, answer: Any
) -> None:
    """Runs in a fresh process: the exports app alone, then one assembly."""
    os.environ.update(environment, AWS_ENDPOINT_URL=endpoint)
    from clientela_local.apps import load_apps  # noqa: PLC0415

    load_apps(services=("exports",))
    from chalicelib.exports.exports import usecases  # noqa: PLC0415

    job = replace(usecases.get_export(STORE, job_id), format=file_format)
    baseline = _status_mb("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    files = usecases.assemble(job)
    seconds = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    bare = _bare(file_format, job.rows_done)
    answer.send(
        {
            "seconds": seconds,
            "bare_seconds": bare,
            "baseline_mb": baseline,
            "peak_mb": peak,
            "files": [(f.key, f.rows, f.size, list(f.sheets)) for f in files],
        }
    )


def _prepare(rows: int) -> str:
    """Parts written as an owner writes them, and a job with every part counted."""
    from chalicelib.exports.exports import usecases  # noqa: PLC0415

    request = usecases.Request("customers", {"kind": "all"}, FIELDS, "csv", "en", None, None, None)
    job = usecases.request_export(STORE, "bench", request)
    s3 = usecases.file_store().s3
    for seq, start in enumerate(range(0, rows, PART_ROWS)):
        end = min(rows, start + PART_ROWS)
        body = "".join(json.dumps(row(n)) + "\n" for n in range(start, end)).encode()
        s3.put_object(Bucket=usecases.file_store().bucket, Key=job.part_key(seq), Body=body)
        job = usecases.job_store().record_part(job, seq, end - start, rows if seq == 0 else None)
    return job.id


def _verify(result: dict[str, Any], file_format: str, rows: int) -> bool:
    """The file(s) read back: every row there, the sample as sent."""
    from chalicelib.exports.exports import usecases  # noqa: PLC0415

    s3 = usecases.file_store().s3
    bucket = usecases.file_store().bucket
    seen = 0
    sample = {n for n in SAMPLE if n < rows}
    found: dict[int, list[Any]] = {}
    for key, _, _, _ in result["files"]:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        if file_format == "csv":
            text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="")  # type: ignore[type-var]
            reader = csv.reader(text)
            next(reader)
            for values in reader:
                if seen in sample:
                    found[seen] = values
                seen += 1
        else:
            import openpyxl  # type: ignore[import-untyped]  # noqa: PLC0415

            with tempfile.NamedTemporaryFile(suffix=".xlsx") as local:
                while chunk := body.read(8 * 1024 * 1024):
                    local.write(chunk)
                local.flush()
                book = openpyxl.load_workbook(local.name, read_only=True)
                for sheet in book.worksheets:
                    for values in sheet.iter_rows(min_row=2, values_only=True):
                        if seen in sample:
                            found[seen] = list(values)
                        seen += 1
                book.close()
    ok = seen == rows
    for n, values in found.items():
        expected = row(n)
        ok &= values[0] == expected["id"] and values[1] == expected["email"]
        name = ("'" if file_format == "csv" and n % 1000 == 0 else "") + expected["first_name"]
        ok &= values[3] == name
        ok &= float(values[4]) == float(expected["total_spent"])
    return ok and len(found) == len(sample)


def run(stack: LocalStack, sizes: tuple[int, ...] = SIZES, verify: bool = True) -> list[Result]:
    from bench.stack import ENVIRONMENT  # noqa: PLC0415

    stack.reset()
    results = []
    spawn = multiprocessing.get_context("spawn")
    for rows in sizes:
        job_id = _prepare(rows)
        for file_format in ("csv", "xlsx"):
            receiving, sending = spawn.Pipe(duplex=False)
            child = spawn.Process(
                target=_assemble_in_child,
                args=(stack.endpoint, dict(ENVIRONMENT), job_id, file_format, sending),
            )
            child.start()
            answer = receiving.recv()
            child.join()
            files = answer["files"]
            results.append(
                Result(
                    rows=rows,
                    format=file_format,
                    seconds=answer["seconds"],
                    bare_seconds=answer["bare_seconds"],
                    baseline_mb=answer["baseline_mb"],
                    peak_mb=answer["peak_mb"],
                    size=sum(f[2] for f in files),
                    files=len(files),
                    sheets=sum(len(f[3]) for f in files),
                    verified=_verify(answer, file_format, rows) if verify else False,
                )
            )
    return results


def as_json(results: list[Result]) -> list[dict[str, Any]]:
    return [
        {
            "rows": r.rows,
            "format": r.format,
            "rows_per_second": round(r.rate),
            "bare_rows_per_second": round(r.bare_rate),
            "ratio": round(r.bare_rate / r.rate, 2),
            "baseline_rss_mb": round(r.baseline_mb, 1),
            "peak_rss_mb": round(r.peak_mb, 1),
            "bytes": r.size,
            "files": r.files,
            "sheets": r.sheets,
            "verified": r.verified,
        }
        for r in results
    ]


def render(results: list[Result]) -> str:
    rows: Iterator[list[str]] = (
        [
            number(r.rows),
            r.format,
            number(round(r.rate)),
            number(round(r.bare_rate)),
            f"{r.bare_rate / r.rate:.1f}x",
            f"{r.baseline_mb:.0f}",
            f"{r.peak_mb:.0f}",
            f"{r.size / 1e6:.1f}",
            f"{r.files}/{r.sheets}" if r.format == "xlsx" else str(r.files),
            "yes" if r.verified else "NO",
        ]
        for r in results
    )
    return "\n".join(
        [
            heading("exports: assembly of generated customers (7 columns) on moto"),
            table(
                [
                    "rows",
                    "format",
                    "ours rows/s",
                    "bare rows/s",
                    "bare/ours",
                    "RSS before MB",
                    "peak RSS MB",
                    "file MB",
                    "files(/sheets)",
                    "read back",
                ],
                list(rows),
            ),
            "ours: parts streamed from S3 (moto), JSON, cell rules, file into S3; bare: the same"
            " rows from memory to a local file. Peak RSS: the assembling process (exports app"
            " loaded), VmHWM during the assembly.",
        ]
    )
