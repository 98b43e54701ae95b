"""Export jobs: asked for, fed part by part by the services that own the rows, assembled into
files handed out through presigned links, and kept as the record of who exported what.

The chain (README "How an export runs"): POST /exports records the job and publishes
`export.requested` (part 0). The owner writes the part to the bucket and answers
`export.part_written`; the job counts it (once: a redelivered answer is recognised) and asks
for the next part, until the last, then assembles the file streaming part by part.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ulid import ULID

from chalicelib.exports.exports.rules import (
    CONTENT_TYPES,
    RETENTION,
    CsvWriter,
    JsonlWriter,
    Language,
    Written,
    XlsxWriter,
    columns_of,
    read_rows,
)
from chalicelib.exports.exports.store import (
    FileInfo,
    FileStore,
    Job,
    JobStore,
    PartOutOfOrder,
    job_prefix,
)
from chalicelib.exports.settings import settings
from clientela import aws
from clientela.events import OutgoingEvent, publish
from clientela_events.exports import (
    ExportPartFailedV1,
    ExportPartWrittenV1,
    ExportRequestedV1,
)

log = logging.getLogger(__name__)
_EVENT_IDS = uuid.UUID("6a0d8c0e-64a5-4c1e-9f57-3f3c1e0b7a10")


class ExportNotFound(Exception):
    pass


class NotRequested(Exception):
    """The bus did not take the request for the first part: the job failed, and says so."""


@functools.cache
def job_store() -> JobStore:
    return JobStore()


@functools.cache
def file_store() -> FileStore:
    return FileStore()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Request:
    kind: str
    target: dict[str, Any]
    fields: list[str]
    format: str
    language: Language
    report: dict[str, Any] | None
    currency: str | None
    notify: str | None


def request_export(store_id: str, requested_by: str, request: Request) -> Job:
    """Records the job (the audit record) and asks the owner for its first part."""
    job = Job(
        id=f"exp-{ULID()}",
        store_id=store_id,
        kind=request.kind,
        target=request.target,
        fields=tuple(request.fields),
        format=request.format,
        language=request.language,
        requested_by=requested_by,
        requested_at=now(),
        report=request.report,
        currency=request.currency,
        notify=request.notify,
        rows_per_part=settings().rows_per_part,
    )
    job_store().create(job)
    if not _ask_for_part(job, 0, None):
        job_store().fail(job, "The request could not be sent; ask again", None, now())
        raise NotRequested
    return job


def _ask_for_part(job: Job, seq: int, cursor: str | None) -> bool:
    data = ExportRequestedV1.model_validate(
        {
            "job_id": job.id,
            "kind": job.kind,
            "target": job.target,
            "report": job.report,
            "currency": job.currency,
            "seq": seq,
            "cursor": cursor,
            "rows_per_part": job.rows_per_part,
            "bucket": file_store().bucket,
            "key": job.part_key(seq),
        }
    )
    event = OutgoingEvent(
        event_type="export.requested",
        version=1,
        # The same request for the same part has the same id: consumers may recognise it.
        event_id=uuid.uuid5(_EVENT_IDS, f"{job.store_id}/{job.id}/{seq}"),
        store_id=job.store_id,
        occurred_at=now(),
        data=data,
    )
    return not publish([event])


def get_export(store_id: str, job_id: str) -> Job:
    job = job_store().get(store_id, job_id) if job_id.startswith("exp-") else None
    if job is None:
        raise ExportNotFound
    return job


def list_exports(store_id: str, *, limit: int, after: str | None) -> tuple[list[Job], str | None]:
    return job_store().page(store_id, limit=limit, after=after)


@dataclass(frozen=True)
class Link:
    file: FileInfo
    url: str | None


def links(
    job: Job, at: datetime, ttl: int | None = None, *, expired: bool = False
) -> tuple[list[Link], datetime | None]:
    """Fresh presigned links to the job's files (none once they are deleted), and until when."""
    if job.status != "done" or expired or is_expired(job, at):
        return [Link(f, None) for f in job.files], None
    ttl = ttl or settings().link_ttl
    content_type = CONTENT_TYPES[job.format]
    found = [Link(f, file_store().link(f.key, f.name, content_type, ttl)) for f in job.files]
    return found, at.replace(microsecond=0) + timedelta(seconds=ttl)


def is_expired(job: Job, at: datetime) -> bool:
    return (
        job.finished_at is not None and job.status == "done" and at >= job.finished_at + RETENTION
    )


def files_gone(job: Job) -> bool:
    """Whether the lifecycle rule already deleted the files (it acts within a day of the 7)."""
    return job.status == "done" and bool(job.files) and not file_store().exists(job.files[0].key)


# Following the owners' answers ------------------------------------------------------------


def follow_part_written(store_id: str, part: ExportPartWrittenV1) -> str:
    """Counts the part once, then asks for the next one or assembles. Returns what was done."""
    job = job_store().get(store_id, part.job_id)
    if job is None:
        return "unknown-job"
    try:
        job = job_store().record_part(job, part.seq, part.rows, part.total)
    except PartOutOfOrder:
        return _redelivered(store_id, part)
    if not part.last:
        if not _ask_for_part(job, part.seq + 1, part.cursor):
            raise RuntimeError("the bus did not take the next part's request")  # retried
        return "next-part-requested"
    return _assemble_once(job)


def _redelivered(store_id: str, part: ExportPartWrittenV1) -> str:
    """A part already counted: finish what its first delivery may have left undone."""
    job = job_store().get(store_id, part.job_id)
    if job is None or job.parts_done != part.seq + 1:
        return "ignored"
    if job.status == "running" and not part.last:
        # The request for the next part may never have reached the bus: ask again (the owner
        # rewrites the same key; its answer is counted once).
        if not _ask_for_part(job, part.seq + 1, part.cursor):
            raise RuntimeError("the bus did not take the next part's request")
        return "next-part-requested-again"
    if job.status in ("running", "assembling") and part.last:
        return _assemble_once(job)
    return "ignored"


def follow_part_failed(store_id: str, failure: ExportPartFailedV1) -> str:
    job = job_store().get(store_id, failure.job_id)
    if job is None:
        return "unknown-job"
    if job_store().fail(job, failure.reason, failure.field, now()):
        file_store().delete_parts(job)
        return "failed"
    return "ignored"


def _assemble_once(job: Job) -> str:
    # running -> assembling; a redelivery finding it assembling assembles again (same keys).
    job_store().set_status(job, "assembling", expected="running")
    try:
        files = assemble(job)
    except Exception:
        log.exception("export assembly failed", extra={"job_id": job.id})
        job_store().fail(job, "The file could not be written", None, now())
        return "failed"
    done = job_store().finish(job, files, now())
    file_store().delete_parts(done)
    notify(done)
    return "done"


def file_stem(job: Job) -> str:
    return f"{job.kind}-{job.requested_at.astimezone(UTC):%Y%m%d-%H%M%S}"


def assemble(job: Job) -> list[FileInfo]:
    """Writes the job's file(s) from its parts, one row at a time: memory stays flat whatever
    the number of rows (CSV and JSON lines go straight into a multipart upload; XLSX through
    xlsxwriter's constant-memory mode into a temporary file, then up part by part)."""
    files = file_store()
    columns = columns_of(job.kind, list(job.fields))
    language: Language = job.language  # type: ignore[assignment]
    outputs = files.files(job, file_stem(job))
    rows = (
        row
        for seq in range(job.parts_done)
        for row in read_rows(files.part_lines(job.part_key(seq)))
    )
    try:
        if job.format == "xlsx":
            return _assemble_xlsx(job, columns, language, rows)
        writer: CsvWriter | JsonlWriter = (
            CsvWriter(outputs, columns, language, max_rows=settings().max_rows_per_sheet)
            if job.format == "csv"
            else JsonlWriter(outputs, columns)
        )
        writer.write(rows)
        written = writer.close()
    except Exception:
        outputs.abort()
        raise
    return [
        FileInfo(upload.key, outputs.name(n), written.rows[n], upload.size)
        for n, upload in enumerate(outputs.opened)
    ]


def _assemble_xlsx(job: Job, columns: Any, language: Language, rows: Any) -> list[FileInfo]:
    files = file_store()
    name = f"{file_stem(job)}.xlsx"
    handle, path = tempfile.mkstemp(suffix=".xlsx", dir=settings().work_dir)
    os.close(handle)
    try:
        writer = XlsxWriter(
            path, columns, language, job.kind, max_rows=settings().max_rows_per_sheet
        )
        writer.write(rows)
        written: Written = writer.close()
        key = job_prefix(job.store_id, job.id) + name
        size = files.upload_file(path, key, CONTENT_TYPES["xlsx"])
    finally:
        os.unlink(path)
    return [FileInfo(key, name, written.total, size, tuple(written.sheets))]


def notify(job: Job) -> None:
    """E-mails the link to whoever asked (`notify`); the job says whether it went."""
    if not job.notify:
        return
    found, _ = links(job, now(), settings().email_link_ttl)
    lines = [f"{link.file.name} ({link.file.rows} rows): {link.url}" for link in found]
    body = (
        f"Your export {job.id} is ready.\n\n"
        + "\n".join(lines)
        + f"\n\nThe link works for {settings().email_link_ttl // 3600} hours; the file is"
        " deleted after 7 days. GET /exports/" + job.id + " gives a fresh link.\n"
    )
    try:
        aws.client("sesv2").send_email(
            FromEmailAddress=settings().sender,
            Destination={"ToAddresses": [job.notify]},
            Content={
                "Simple": {
                    "Subject": {"Data": f"Your export is ready ({job.kind}, {job.rows} rows)"},
                    "Body": {"Text": {"Data": body}},
                }
            },
        )
        sent = True
    except Exception as error:  # the file is there either way; the job says the mail did not go
        log.warning(
            "export e-mail not sent", extra={"job_id": job.id, "error": type(error).__name__}
        )
        sent = False
    job_store().set_notified(job, sent)
