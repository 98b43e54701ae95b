"""Import events: the exports service reads a file, the customers service matches and applies it.

The exports service (source `clientela.exports`) owns the file and the job; the customers service
(source `clientela.customers`) is the only writer of customers. A preview is a chain: the exports
service publishes one chunk of normalised rows (`import.rows.submitted`), the customers service
plans it (create, update, unchanged, refused, repeated) and keeps the plan, then answers
`import.rows.previewed` with the counts and the rows it refused; only then is the next chunk
sent, so "which row repeats which" never depends on delivery order. A commit is one
`import.commit.requested` per chunk, answered by `import.rows.applied`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clientela_events.customers import SOURCE as CUSTOMERS_SOURCE

__all__ = [
    "CUSTOMERS_SOURCE",
    "SOURCE",
    "ImportCommitRequestedV1",
    "ImportRow",
    "ImportRowIssue",
    "ImportRowMoved",
    "ImportRowsAppliedV1",
    "ImportRowsPreviewedV1",
    "ImportRowsSubmittedV1",
]

SOURCE = "clientela.exports"

# The fields a row may carry, named as the customers API names them (values as read, text).
ImportField = Literal[
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "region",
    "country",
    "gender",
    "birthday",
    "language",
    "tags",
    "notes",
    "email_consent",
    "email_consent_at",
    "sms_consent",
    "sms_consent_at",
]


class ImportRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: int = Field(ge=1, description="Row number in the file (the header is row 1)")
    fields: dict[ImportField, str] = Field(description="Values as read from the file")


class ImportOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    update_existing: bool = Field(description="Update matched customers (or leave them)")
    tags: list[str] = Field(default_factory=list, max_length=40, description="Added to everyone")


class ImportRowsSubmittedV1(BaseModel):
    """One chunk of a file, to plan (preview)."""

    model_config = ConfigDict(frozen=True)

    import_id: str = Field(min_length=1, max_length=64)
    chunk: int = Field(ge=0)
    options: ImportOptions
    rows: list[ImportRow] = Field(max_length=1000)


class ImportRowIssue(BaseModel):
    """A row that will not be applied: refused (column, reason) or repeating an earlier row."""

    model_config = ConfigDict(frozen=True)

    row: int = Field(ge=1)
    kind: Literal["refused", "repeated"]
    column: str = Field(max_length=64, description="The field at fault (empty for a whole row)")
    reason: str = Field(max_length=300, description="Never the value itself")
    repeats_row: int | None = Field(default=None, description="The earlier row, which wins")


class PlanCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    create: int = Field(ge=0, default=0)
    update: int = Field(ge=0, default=0)
    unchanged: int = Field(ge=0, default=0)
    refused: int = Field(ge=0, default=0)
    repeated: int = Field(ge=0, default=0)


class ImportRowsPreviewedV1(BaseModel):
    """The plan of one chunk, kept by the customers service until the commit."""

    model_config = ConfigDict(frozen=True)

    import_id: str = Field(min_length=1, max_length=64)
    chunk: int = Field(ge=0)
    counts: PlanCounts
    issues: list[ImportRowIssue] = Field(max_length=1000)


class ImportCommitRequestedV1(BaseModel):
    """Apply the plan of one chunk exactly as previewed."""

    model_config = ConfigDict(frozen=True)

    import_id: str = Field(min_length=1, max_length=64)
    chunk: int = Field(ge=0)


class ImportRowMoved(BaseModel):
    """A row whose customer changed between the preview and the commit: re-checked."""

    model_config = ConfigDict(frozen=True)

    row: int = Field(ge=1)
    planned: str = Field(max_length=16)
    applied: str = Field(max_length=16)
    reason: str = Field(max_length=300)


class ImportRowsAppliedV1(BaseModel):
    """One chunk applied: what was done (the counts of the plan, after re-checks)."""

    model_config = ConfigDict(frozen=True)

    import_id: str = Field(min_length=1, max_length=64)
    chunk: int = Field(ge=0)
    counts: PlanCounts
    moved: list[ImportRowMoved] = Field(max_length=1000)
