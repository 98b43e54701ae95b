"""What the imports API accepts and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.exports.imports import rules
from chalicelib.exports.imports.store import PLAN

MB = 1024 * 1024
UploadType = Literal["text/csv", "application/zip", "text/plain", "application/vnd.ms-excel"]


class UploadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=1, le=rules.MAX_UPLOAD_BYTES, description="The file's exact size, bytes")
    content_type: UploadType = "text/csv"


class Upload(BaseModel):
    upload_id: str
    url: str = Field(description="PUT the file here, with exactly these headers")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int = rules.MAX_UPLOAD_BYTES


Tag = Field(min_length=1, max_length=40)


class ImportCreate(BaseModel):
    """An uploaded file (`upload_id`) or, for small files, its text (`content`, up to 1 MB)."""

    model_config = ConfigDict(extra="forbid")

    upload_id: str | None = Field(default=None, min_length=26, max_length=26)
    content: str | None = Field(default=None, min_length=1, max_length=MB)
    filename: str = Field(
        default="import.csv",
        min_length=1,
        max_length=255,
        description="As uploaded: a Mailchimp list's file name says its consent",
    )
    update_existing: bool = Field(
        default=True, description="Update the customers a row matches, or leave them"
    )
    tags: list[str] = Field(default_factory=list, max_length=40, description="Added to everyone")
    mapping: dict[str, str] = Field(
        default_factory=dict,
        max_length=100,
        description=f"Header -> field ({', '.join(rules.FIELDS)}), or '' to skip a column",
    )

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        tags = [t.strip().lower() for t in value]
        if any(not t or len(t) > 40 for t in tags):
            raise ValueError("tags are 1 to 40 characters")
        return sorted(set(tags))

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = rules.check_mapping(value)
        if wrong:
            raise ValueError(f"not a field: {', '.join(sorted({value[h] for h in wrong}))}")
        if any(not h.strip() or len(h) > 200 for h in value):
            raise ValueError("headers are 1 to 200 characters")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ImportCreate:
        if (self.upload_id is None) == (self.content is None):
            raise ValueError("give either upload_id or content")
        return self


class Counts(BaseModel):
    create: int
    update: int
    unchanged: int
    refused: int
    repeated: int

    @classmethod
    def of(cls, job: dict[str, Any], step: str) -> Counts:
        return cls(**{name: int(job.get(f"{step}_{name}", 0)) for name in PLAN})


class Progress(BaseModel):
    done: int = Field(description="Rows planned (previewing) or applied (committing)")
    total: int


class ReportLink(BaseModel):
    url: str
    expires_at: datetime


class ZipFile(BaseModel):
    name: str
    header_row: int = Field(description="Rows of the zip are numbered through its files")
    last_row: int


class Import(BaseModel):
    id: str
    status: Literal["reading", "previewing", "previewed", "committing", "committed", "failed"]
    filename: str
    created_at: datetime
    update_existing: bool
    tags: list[str]
    error: str | None = Field(description="Why the file could not be read (status failed)")
    source: str | None = Field(description="Whose format: clientela, shopify, mailchimp, ...")
    encoding: str | None
    delimiter: str | None
    columns: dict[str, str] = Field(description="Header -> the field it was read as")
    ignored_columns: list[str]
    files: list[ZipFile] = Field(description="A zip's files, in the order read")
    rows: int | None = Field(description="Rows of the file (blank rows aside)")
    progress: Progress | None
    preview: Counts = Field(description="What the commit would do (repeated: the first row wins)")
    report: ReportLink | None = Field(description="Refused and repeated rows (CSV)")
    committed: Counts | None = Field(description="What the commit did")
    moved: int = Field(description="Rows re-checked at the commit whose outcome changed")
    moved_report: ReportLink | None

    @classmethod
    def of(cls, job: dict[str, Any], links: dict[str, Any]) -> Import:
        status = job["status"]
        total = job.get("rows_total")
        progress = None
        if total is not None:
            step = "applied" if status in ("committing", "committed") else "preview"
            done = sum(Counts.of(job, step).model_dump().values())
            progress = Progress(done=done, total=int(total))
        return cls(
            id=job["id"],
            status=status,
            filename=job["filename"],
            created_at=job["created_at"],
            update_existing=job["options"]["update_existing"],
            tags=job["options"].get("tags", []),
            error=job.get("error"),
            source=job.get("source"),
            encoding=job.get("encoding"),
            delimiter=job.get("delimiter"),
            columns=job.get("columns") or {},
            ignored_columns=job.get("ignored_columns") or [],
            files=[ZipFile.model_validate(f) for f in job.get("files") or []],
            rows=int(total) if total is not None else None,
            progress=progress,
            preview=Counts.of(job, "preview"),
            report=ReportLink(**links["report"].__dict__) if "report" in links else None,
            committed=Counts.of(job, "applied") if status == "committed" else None,
            moved=int(job.get("moved", 0)),
            moved_report=ReportLink(**links["moved"].__dict__) if "moved" in links else None,
        )
