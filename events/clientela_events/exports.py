"""Export events: the exports service asks an owner for one part of an export's rows, the owner
says it wrote it (or why it cannot).

An export job is a chain of bounded steps: `export.requested` (source `clientela.exports`) asks
the service that owns the rows (customers for customers, e-mails, orders and reports; credits
for wallets) to write part `seq` of the job, at most `rows_per_part` rows as JSON lines, to
`key` in the exports bucket, starting at `cursor`; the owner answers `export.part_written`
with the rows written, whether it was the last part and the cursor to continue from, or
`export.part_failed` with the reason. The exports service then asks for the next part, or
assembles the file. A redelivered request rewrites the same key: no row is written twice.

Cursors are opaque to the exports service; owners keep personal data out of them (positions
by id, offsets), as everything on the bus lands in archives and logs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SOURCE = "clientela.exports"
# Owners that answer with parts.
CUSTOMERS_SOURCE = "clientela.customers"
CREDITS_SOURCE = "clientela.credits"

ExportKind = Literal["customers", "emails", "wallets", "orders", "report"]
TargetKind = Literal["all", "ids", "filter", "segment"]
ReportName = Literal["sales-by-customer", "purchase-frequency"]

__all__ = [
    "CREDITS_SOURCE",
    "CUSTOMERS_SOURCE",
    "SOURCE",
    "ExportKind",
    "ExportPartFailedV1",
    "ExportPartWrittenV1",
    "ExportReportV1",
    "ExportRequestedV1",
    "ExportTargetV1",
    "ReportName",
    "TargetKind",
]


class ExportTargetV1(BaseModel):
    """Whose rows: every customer, some ids, a customers filter (the query parameters of GET
    /customers, as strings or lists of strings) or a saved or built-in segment."""

    model_config = ConfigDict(frozen=True)

    kind: TargetKind
    ids: list[str] | None = Field(default=None, max_length=1000)
    filter: dict[str, str | list[str]] | None = None
    segment_id: str | None = Field(default=None, min_length=1, max_length=128)


class ExportReportV1(BaseModel):
    """Which report of the customers API, with its query parameters (as GET /reports/...)."""

    model_config = ConfigDict(frozen=True)

    name: ReportName
    query: dict[str, str | list[str]] = Field(default_factory=dict)


class ExportRequestedV1(BaseModel):
    """Write part `seq` of an export job's rows to `key` in `bucket`."""

    model_config = ConfigDict(frozen=True)

    job_id: str = Field(min_length=1, max_length=128)
    kind: ExportKind
    target: ExportTargetV1
    report: ExportReportV1 | None = None
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$", description="wallets")
    seq: int = Field(ge=0)
    cursor: str | None = Field(default=None, max_length=4096)
    rows_per_part: int = Field(ge=1, le=100_000)
    bucket: str = Field(min_length=3, max_length=63)
    key: str = Field(min_length=1, max_length=1024)


class ExportPartWrittenV1(BaseModel):
    """The owner wrote part `seq` (`rows` JSON lines) to `key`; `cursor` continues after it."""

    model_config = ConfigDict(frozen=True)

    job_id: str = Field(min_length=1, max_length=128)
    seq: int = Field(ge=0)
    key: str = Field(min_length=1, max_length=1024)
    rows: int = Field(ge=0)
    last: bool
    cursor: str | None = Field(default=None, max_length=4096)
    # How many rows the whole export will have, when the owner can tell cheaply (first part).
    total: int | None = Field(default=None, ge=0)


class ExportPartFailedV1(BaseModel):
    """The owner cannot write part `seq`: why (no personal data), and the request field at
    fault when there is one (`target.segment_id`, `target.filter.country`, ...)."""

    model_config = ConfigDict(frozen=True)

    job_id: str = Field(min_length=1, max_length=128)
    seq: int = Field(ge=0)
    reason: str = Field(min_length=1, max_length=500)
    field: str | None = Field(default=None, max_length=200)
