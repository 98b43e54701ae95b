"""Imports, one function per step: upload, read, preview chunk by chunk, commit, report.

The file is read here; the customers service alone matches its rows to customers and writes
them (it follows `import.rows.submitted` and `import.commit.requested`). Why this split, and
why the preview goes one chunk after another, is in the service's README ("Imports").
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from chalicelib.exports.imports import rules
from chalicelib.exports.imports.store import (
    PLAN,
    ImportStore,
    Link,
    import_store,
    prefix,
    upload_key,
)
from chalicelib.exports.settings import settings
from clientela import aws, csvsafe
from clientela.events import OutgoingEvent, publish
from clientela.ids import new_id
from clientela.problems import FieldError, NotFound, invalid
from clientela_events.imports import (
    ImportCommitRequestedV1,
    ImportOptions,
    ImportRow,
    ImportRowsAppliedV1,
    ImportRowsPreviewedV1,
    ImportRowsSubmittedV1,
)

# A chunk is one event on the bus (at most 256 KB): rows until either bound is reached.
CHUNK_ROWS = 250
CHUNK_BYTES = 150_000
MAX_DIRECT_BYTES = 1024 * 1024
REPORT_HEADER = ["row", "file", "file_row", "column", "problem", "repeats_row"]
MOVED_HEADER = ["row", "file", "file_row", "planned", "applied", "reason"]


class ImportNotFound(NotFound):
    what = "import"


class WrongStatus(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def now() -> datetime:
    return datetime.now(UTC)


def _event_id(import_id: str, chunk: int, step: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"clientela:import:{import_id}:{chunk}:{step}")


def _publish(event: OutgoingEvent) -> None:
    if publish([event]):
        raise RuntimeError("the bus refused the import event")  # the queue retries the step


def _queue_url() -> str:
    url: str = aws.client("sqs").get_queue_url(QueueName=settings().imports_queue)["QueueUrl"]
    return url


def _work(step: str, store_id: str, import_id: str) -> None:
    body = json.dumps({"step": step, "store_id": store_id, "import_id": import_id})
    aws.client("sqs").send_message(QueueUrl=_queue_url(), MessageBody=body)


# Upload and start ---------------------------------------------------------------------------


def create_upload(store_id: str, *, size: int, content_type: str) -> tuple[str, Link]:
    upload_id = new_id()
    link = import_store().upload_link(
        upload_key(store_id, upload_id), size, content_type, settings().import_upload_ttl
    )
    return upload_id, link


def start_import(
    store_id: str,
    *,
    upload_id: str | None,
    content: str | None,
    filename: str,
    options: ImportOptions,
    mapping: dict[str, str],
) -> dict[str, Any]:
    """The job, waiting to be read (by the imports queue's worker)."""
    store = import_store()
    import_id = new_id()
    if content is not None:
        upload_id = new_id()
        store.put(upload_key(store_id, upload_id), content.encode("utf-8"), "text/csv")
    assert upload_id is not None
    size = store.size_of(upload_key(store_id, upload_id))
    if size is None:
        raise invalid([FieldError("upload_id", "No such upload (or it expired): upload again")])
    if size > rules.MAX_UPLOAD_BYTES:
        limit = rules.MAX_UPLOAD_BYTES // (1024 * 1024)
        raise invalid([FieldError("upload_id", f"The file is larger than {limit} MB")])
    job = {
        "id": import_id,
        "status": "reading",
        "filename": filename,
        "upload_id": upload_id,
        "size": size,
        "options": options.model_dump(),
        "mapping": mapping,
        "created_at": now().isoformat(),
    }
    store.add(store_id, import_id, job)
    _work("read", store_id, import_id)
    return job


# Reading ------------------------------------------------------------------------------------


def _chunks(rows: Iterator[rules.Row]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        chunk.append({"row": row.row, "fields": row.fields})
        # What the row weighs in the event's JSON: UTF-8 bytes, quotes and separators, and the
        # escapes JSON adds (control characters, rare, are bounded by the margin to 256 KB).
        size += 24 + sum(
            len(k) + len(v.encode()) + v.count('"') + v.count("\\") + 6
            for k, v in row.fields.items()
        )
        if len(chunk) >= CHUNK_ROWS or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def read_file(store_id: str, import_id: str) -> None:
    """Reads the upload into chunks and sends the first for planning. Redelivered: no-op."""
    store = import_store()
    job = store.get(store_id, import_id)
    if job is None or job["status"] != "reading":
        return
    reading = rules.Reading()
    chunks = 0
    try:
        with store.open(upload_key(store_id, job["upload_id"])) as stream:
            rows = rules.read_rows(
                stream,
                reading,
                filename=job.get("filename", ""),
                mapping=job.get("mapping") or None,
                restore=csvsafe.restore,
            )
            for rows_of_chunk in _chunks(rows):
                store.put_json(f"{prefix(store_id, import_id)}chunks/{chunks}.json", rows_of_chunk)
                chunks += 1
    except rules.Unreadable as exc:
        store.fail(store_id, import_id, str(exc))
        return
    read = store.read(
        store_id,
        import_id,
        {
            "source": reading.source,
            "encoding": reading.encoding,
            "delimiter": reading.delimiter,
            "columns": reading.columns,
            "ignored_columns": reading.ignored,
            "files": reading.files,
            "mixed_lines": reading.mixed_lines,
            "rows_total": reading.rows,
            "chunks_total": chunks,
        },
    )
    if read is not None:
        _submit(store, store_id, read, 0)


def _submit(store: ImportStore, store_id: str, job: dict[str, Any], chunk: int) -> None:
    rows = store.get_json(f"{prefix(store_id, job['id'])}chunks/{chunk}.json")
    _publish(
        OutgoingEvent(
            "import.rows.submitted",
            1,
            _event_id(job["id"], chunk, "submitted"),
            store_id,
            now(),
            ImportRowsSubmittedV1(
                import_id=job["id"],
                chunk=chunk,
                options=ImportOptions.model_validate(job["options"]),
                rows=[ImportRow.model_validate(r) for r in rows],
            ),
        )
    )
    store.mark_submitted(store_id, job["id"], chunk)


# Preview ------------------------------------------------------------------------------------


def _file_of(job: dict[str, Any], row: int) -> tuple[str, int]:
    """The zip's file a row is in, and its number there (a CSV: the file and the row)."""
    for f in job.get("files") or []:
        if int(f["header_row"]) <= row <= int(f["last_row"]):
            return str(f["name"]), row - int(f["header_row"]) + 1
    return str(job.get("filename", "")), row


def _csv_part(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csvsafe.neutralise(str(v)) if isinstance(v, str) else v for v in row])
    return out.getvalue()


def chunk_previewed(store_id: str, data: ImportRowsPreviewedV1) -> None:
    """A chunk's plan came back: counted once, its issues kept; the next chunk is sent."""
    store = import_store()
    job = store.get(store_id, data.import_id)
    if job is None or job["status"] not in ("previewing",):
        return
    part = [
        [i.row, *_file_of(job, i.row), i.column, i.reason, i.repeats_row or ""] for i in data.issues
    ]
    store.put(
        f"{prefix(store_id, data.import_id)}issues/{data.chunk}.csv",
        _csv_part(part).encode(),
        "text/csv",
    )
    counted = store.record_preview(store_id, data.import_id, data.chunk, data.counts.model_dump())
    job = counted or store.get(store_id, data.import_id) or job
    following = data.chunk + 1
    if following < int(job["chunks_total"]):
        if int(job.get("submitted", -1)) < following:
            _submit(store, store_id, job, following)
        return
    if len(job.get("previewed_chunks", [])) == int(job["chunks_total"]):
        base = prefix(store_id, data.import_id)
        store.assemble(
            f"{base}report.csv",
            REPORT_HEADER,
            (store.get_text(f"{base}issues/{n}.csv") for n in range(int(job["chunks_total"]))),
        )
        store.finish_preview(store_id, data.import_id, now())


# Commit -------------------------------------------------------------------------------------


def commit(store_id: str, import_id: str) -> dict[str, Any]:
    store = import_store()
    job = store.get(store_id, import_id)
    if job is None:
        raise ImportNotFound
    started = store.start_commit(store_id, import_id, now())
    if started is None:
        raise WrongStatus(job["status"])
    _work("commit", store_id, import_id)
    return started


def publish_commit(store_id: str, import_id: str) -> None:
    """One `import.commit.requested` per chunk, ten to a PutEvents; a retry goes on from the
    last batch recorded (and the customers service answers a repeated chunk with its record)."""
    store = import_store()
    job = store.get(store_id, import_id)
    if job is None or job["status"] != "committing":
        return
    total, start = int(job["chunks_total"]), int(job.get("commit_published", 0))
    for first in range(start, total, 10):
        events = [
            OutgoingEvent(
                "import.commit.requested",
                1,
                _event_id(import_id, chunk, "commit"),
                store_id,
                now(),
                ImportCommitRequestedV1(import_id=import_id, chunk=chunk),
            )
            for chunk in range(first, min(first + 10, total))
        ]
        if publish(events):
            raise RuntimeError("the bus refused import events")
        store.mark_published(store_id, import_id, first + len(events))


def chunk_applied(store_id: str, data: ImportRowsAppliedV1) -> None:
    store = import_store()
    job = store.get(store_id, data.import_id)
    if job is None or job["status"] != "committing":
        return
    base = prefix(store_id, data.import_id)
    if data.moved:
        part = [[m.row, *_file_of(job, m.row), m.planned, m.applied, m.reason] for m in data.moved]
        store.put(f"{base}moved/{data.chunk}.csv", _csv_part(part).encode(), "text/csv")
    counted = store.record_applied(
        store_id, data.import_id, data.chunk, data.counts.model_dump(), len(data.moved)
    )
    job = counted or store.get(store_id, data.import_id) or job
    if len(job.get("applied_chunks", [])) < int(job["chunks_total"]):
        return
    if int(job.get("moved", 0)):
        store.assemble(
            f"{base}moved.csv",
            MOVED_HEADER,
            (store.get_text(f"{base}moved/{n}.csv") for n in range(int(job["chunks_total"]))),
        )
    store.finish_commit(store_id, data.import_id, now())


# Reading the job ----------------------------------------------------------------------------


def get_import(store_id: str, import_id: str) -> tuple[dict[str, Any], dict[str, Link]]:
    """The job, and fresh links to its reports (a new link on every read)."""
    store = import_store()
    job = store.get(store_id, import_id)
    if job is None:
        raise ImportNotFound
    links: dict[str, Link] = {}
    base, ttl = prefix(store_id, import_id), settings().import_link_ttl
    if job["status"] in ("previewed", "committing", "committed"):
        links["report"] = store.download_link(
            f"{base}report.csv", f"import-{import_id}-report.csv", ttl
        )
    if job["status"] == "committed" and int(job.get("moved", 0)):
        links["moved"] = store.download_link(
            f"{base}moved.csv", f"import-{import_id}-moved.csv", ttl
        )
    return job, links


def counts(job: dict[str, Any], step: str) -> dict[str, int]:
    return {name: int(job.get(f"{step}_{name}", 0)) for name in PLAN}


def handle_work(message: dict[str, Any]) -> None:
    """A step of an import's own worker (the imports queue)."""
    step = {"read": read_file, "commit": publish_commit}[message["step"]]
    step(message["store_id"], message["import_id"])
