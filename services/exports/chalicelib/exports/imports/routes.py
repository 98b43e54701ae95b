"""Imports over HTTP: upload a file, start an import (its preview), read it, commit it."""

from __future__ import annotations

from chalicelib.exports.imports import usecases
from chalicelib.exports.imports.models import Import, ImportCreate, Upload, UploadCreate
from clientela.api import Call, Reply, Routes
from clientela.problems import Problem
from clientela_events.imports import ImportOptions

routes = Routes()
register = routes.register


@routes.route(
    "/imports/uploads",
    "POST",
    summary="A link to upload a file to import",
    description="A presigned PUT for a file of up to 50 MB (CSV, or a Mailchimp audience "
    "export's zip), bound to its exact size and type; then `POST /imports` with `upload_id`.",
    body=UploadCreate,
    response=Upload,
    status=201,
    errors=(422,),
)
def create_upload(call: Call) -> Reply:
    body = call.body
    assert isinstance(body, UploadCreate)
    upload_id, link = usecases.create_upload(
        call.store_id, size=body.size, content_type=body.content_type
    )
    headers = {"Content-Length": str(body.size), "Content-Type": body.content_type}
    return Reply(
        201,
        Upload(upload_id=upload_id, url=link.url, headers=headers, expires_at=link.expires_at),
    )


@routes.route(
    "/imports",
    "POST",
    summary="Import customers from a file: read it and preview what it would do",
    description="202 and the import job. The file is read and each row planned against the "
    "store (create, update, unchanged, refused, repeated) without changing anything: follow "
    "`GET /imports/{import_id}` until `previewed`, then `POST /imports/{import_id}/commit`.",
    body=ImportCreate,
    response=Import,
    status=202,
    errors=(422,),
    max_body=2 * 1024 * 1024,
    creates="import_id",
)
def start_import(call: Call) -> Reply:
    body = call.body
    assert isinstance(body, ImportCreate)
    job = usecases.start_import(
        call.store_id,
        upload_id=body.upload_id,
        content=body.content,
        filename=body.filename,
        options=ImportOptions(update_existing=body.update_existing, tags=body.tags),
        mapping=body.mapping,
    )
    return Reply(202, Import.of(job, {}))


@routes.route(
    "/imports/{import_id}",
    "GET",
    summary="An import: what was read, its preview and report, its progress",
    response=Import,
    errors=(404,),
)
def get_import(call: Call, import_id: str) -> Reply:
    job, links = usecases.get_import(call.store_id, import_id)
    return Reply(200, Import.of(job, links))


@routes.route(
    "/imports/{import_id}/commit",
    "POST",
    summary="Apply the import exactly as previewed",
    description="202; rows whose customer changed since the preview are re-checked, and the "
    "job's `moved` (and its report) says which. Only a `previewed` import: otherwise 409.",
    response=Import,
    status=202,
    errors=(404, 409),
)
def commit_import(call: Call, import_id: str) -> Reply:
    try:
        job = usecases.commit(call.store_id, import_id)
    except usecases.WrongStatus as exc:
        raise Problem(
            409,
            "import-not-previewed",
            "The import cannot be committed",
            f"Only a previewed import can be committed; this one is {exc.status}",
        ) from None
    return Reply(202, Import.of(job, {}))
