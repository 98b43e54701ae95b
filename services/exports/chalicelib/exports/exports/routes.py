"""Routes of export jobs: POST /exports, GET /exports/{export_id}, GET /exports.

Each parses, calls a use case, answers.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from chalicelib.exports.exports import usecases
from chalicelib.exports.exports.models import (
    ExportFile,
    ExportJob,
    ExportPage,
    ListQuery,
    NewExport,
    Progress,
)
from chalicelib.exports.exports.rules import RETENTION, language_of
from chalicelib.exports.exports.store import Job
from clientela import problems
from clientela.api import Call, Reply, Routes
from clientela.problems import FieldError, Problem

routes = Routes()
register = routes.register


def job_answer(job: Job, at: datetime, *, check_files: bool = False) -> ExportJob:
    """The job as the API shows it; `check_files` also asks S3 whether the files are still
    there (one request: for a single job, not a listing)."""
    expired = usecases.is_expired(job, at) or (check_files and usecases.files_gone(job))
    found, until = usecases.links(job, at, expired=expired)
    done = job.status == "done"
    return ExportJob(
        id=job.id,
        kind=job.kind,
        status="expired" if expired else job.status,
        format=job.format,
        language=job.language,
        fields=list(job.fields),
        target=job.target,
        report=job.report,
        currency=job.currency,
        requested_by=job.requested_by,
        requested_at=job.requested_at,
        finished_at=job.finished_at,
        progress=Progress(rows_done=job.rows_done, total=job.total, parts_done=job.parts_done),
        rows=job.rows if done else None,
        size=job.size if done else None,
        files=[
            ExportFile(
                name=link.file.name,
                rows=link.file.rows,
                size=link.file.size,
                sheets=list(link.file.sheets),
                url=link.url,
            )
            for link in found
        ],
        url=found[0].url if found else None,
        link_expires_at=until,
        expires_at=job.finished_at + RETENTION if done and job.finished_at else None,
        reason=job.reason,
        field=job.field,
        notified=job.notified,
    )


@routes.route(
    "/exports",
    "POST",
    summary="Export the store's data to a file",
    body=NewExport,
    response=ExportJob,
    status=202,
    errors=(422, 503),
    headers=("Accept-Language",),
    response_headers=("Location",),
    creates="export_id",
)
def request_export(call: Call) -> Reply:
    """A job (202, `Location: /exports/{id}`): the service that owns the rows writes them part
    by part, then the file is assembled; `GET /exports/{id}` shows the progress and, when done,
    a link. Column headers are in `language`, else the best of `Accept-Language` among en,
    pt-BR, es and it, else English. Every export is recorded: `GET /exports`."""
    body: NewExport = call.body
    request = usecases.Request(
        kind=body.kind,
        target=body.target.event_form() if body.kind != "report" else {"kind": "all"},
        fields=body.chosen_fields(),
        format=body.format,
        language=language_of(body.language, call.header("Accept-Language")),
        report=body.report.event_form() if body.report else None,
        currency=body.currency,
        notify=str(body.notify) if body.notify else None,
    )
    try:
        job = usecases.request_export(call.store_id, call.principal.subject or "store", request)
    except usecases.NotRequested:
        raise Problem(
            503, "unavailable", "Try again", "The export could not be started; ask again"
        ) from None
    return Reply(202, job_answer(job, usecases.now()), {"Location": f"/exports/{job.id}"})


@routes.route(
    "/exports/{export_id}",
    "GET",
    summary="Get an export job",
    response=ExportJob,
)
def get_export(call: Call, export_id: str) -> Reply:
    """Status, rows done of the total (a progress bar), and when done the files with a fresh
    presigned link each (valid a few minutes: GET again for another), their size and rows.
    After 7 days the files are deleted and the job says `expired`."""
    try:
        job = usecases.get_export(call.store_id, export_id)
    except usecases.ExportNotFound:
        raise problems.not_found("export") from None
    return Reply(200, job_answer(job, usecases.now(), check_files=True))


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    moment, _, job_id = text.partition("#")
    if not job_id.startswith("exp-") or len(moment) < 20:
        raise problems.invalid([FieldError("cursor", "Invalid cursor")], "Invalid cursor")
    return text


def _cursor(after: str | None) -> str | None:
    return None if after is None else base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


@routes.route(
    "/exports",
    "GET",
    summary="List the store's exports",
    query=ListQuery,
    response=ExportPage,
    errors=(422,),
)
def list_exports(call: Call) -> Reply:
    """Every export of the store's data, newest first: who asked (the token's subject), when,
    what kind, how many rows. Paginated with `cursor`."""
    query: ListQuery = call.query
    jobs, after = usecases.list_exports(
        call.store_id, limit=query.limit, after=_after(query.cursor)
    )
    at = usecases.now()
    return Reply(
        200, ExportPage(items=[job_answer(j, at) for j in jobs], next_cursor=_cursor(after))
    )
