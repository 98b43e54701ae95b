"""The API's models for export jobs: what POST /exports takes and what a job looks like."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from chalicelib.exports.exports.rules import (
    COLUMNS,
    DEFAULT_FIELDS,
    LANGUAGES,
    RETENTION,
    UnknownField,
    columns_of,
)
from clientela import customer_filter
from clientela.problems import Refused

# The filter parameters of GET /customers (the customers service validates their values when
# it writes the rows; a bad value fails the job, naming the field). Names are checked here so
# a typo is a 422 at once.
FILTER_PARAMETERS = customer_filter.PARAMETERS

MAX_IDS = 1000
FilterValue = str | int | float | bool | list[str]
_PARAMETER = re.compile(r"^[a-z_]{1,40}$")


def _checked_parameters(given: dict[str, FilterValue]) -> dict[str, FilterValue]:
    """Query parameters travel on the bus and into DynamoDB: names as the APIs spell theirs,
    values short printable text (a lone surrogate could not even be encoded)."""
    for name, value in given.items():
        if not _PARAMETER.match(name):
            raise ValueError("parameter names are lower-case letters and _")
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and (
                len(text) > 200 or not text.isprintable() or not _encodes(text)
            ):
                raise ValueError(f"{name}: values are up to 200 printable characters")
    return given


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


_FIELDS_DOC = "; ".join(
    f"{kind}: {', '.join(c.name for c in cols)}" for kind, cols in COLUMNS.items()
)


class ExportTarget(BaseModel):
    """At most one of `ids`, `filter` or `segment_id`; none (or `{}`) is every customer."""

    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_IDS, description="Customer ids."
    )
    filter: dict[str, FilterValue] | None = Field(
        default=None,
        description='The filters of GET /customers by name (`{"country": "BR", "tag":'
        ' ["vip"]}`), matched as each part is written.',
    )
    segment_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,128}$")

    @model_validator(mode="after")
    def _one(self) -> ExportTarget:
        given = [n for n in ("ids", "filter", "segment_id") if getattr(self, n) is not None]
        if len(given) > 1:
            raise Refused(given[1], "give at most one of ids, filter or segment_id", "one_target")
        return self

    @field_validator("ids")
    @classmethod
    def _ids(cls, ids: list[str] | None) -> list[str] | None:
        if ids is not None:
            for value in ids:
                if not 1 <= len(value) <= 128 or not value.isprintable() or not _encodes(value):
                    raise ValueError("ids are 1-128 printable characters")
            return list(dict.fromkeys(ids))
        return ids

    @field_validator("filter")
    @classmethod
    def _filter(cls, given: dict[str, FilterValue] | None) -> dict[str, FilterValue] | None:
        if given is not None:
            _checked_parameters(given)
            unknown = sorted(set(given) - FILTER_PARAMETERS)
            if unknown:
                raise ValueError(f"unknown filter {unknown[0]!r}: use those of GET /customers")
        return given

    def event_form(self) -> dict[str, Any]:
        """The contract's target (ExportTargetV1): filter values as query-string text."""
        if self.ids is not None:
            return {"kind": "ids", "ids": self.ids}
        if self.segment_id is not None:
            return {"kind": "segment", "segment_id": self.segment_id}
        if self.filter is not None:
            return {"kind": "filter", "filter": {k: _text(v) for k, v in self.filter.items()}}
        return {"kind": "all"}


def _text(value: FilterValue) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


class ExportReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Literal["sales-by-customer", "purchase-frequency"]
    query: dict[str, str | int | float | bool | list[str]] = Field(
        default_factory=dict,
        description="The report's query parameters (`from` and `to` at least), as in GET"
        " /reports/<name>.",
    )

    @field_validator("query")
    @classmethod
    def _query(cls, given: dict[str, FilterValue]) -> dict[str, FilterValue]:
        return _checked_parameters(given)

    def event_form(self) -> dict[str, Any]:
        return {"name": self.name, "query": {k: _text(v) for k, v in self.query.items()}}


class NewExport(BaseModel):
    """An export of the store's data to a file (a job: 202)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["customers", "emails", "wallets", "orders", "report"] = Field(
        description="`customers` (profiles), `emails` (the e-mail column only), `wallets`"
        " (balances and their lots with expiry dates: one row per live lot), `orders` (the"
        " target customers' orders), `report` (a report of the customers API)."
    )
    target: ExportTarget = Field(default_factory=ExportTarget)
    fields: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        description=f"Columns, in order (the kind's defaults if none). {_FIELDS_DOC}.",
    )
    format: Literal["csv", "xlsx", "jsonl"] = "csv"
    language: Literal["en", "pt-BR", "es", "it"] | None = Field(
        default=None,
        description="Of the column headers; else the request's Accept-Language; else English.",
    )
    report: ExportReport | None = Field(default=None, description="For kind `report`.")
    currency: str | None = Field(
        default=None, pattern="^[A-Z]{3}$", description="For kind `wallets`: the wallets' currency."
    )
    notify: EmailStr | None = Field(
        default=None, description="Where to e-mail the link when the file is ready."
    )

    @model_validator(mode="after")
    def _consistent(self) -> NewExport:
        if self.kind == "report" and self.report is None:
            raise Refused("report", "kind report needs `report`", "report_required")
        if self.kind != "report" and self.report is not None:
            raise Refused("report", "`report` is for kind report", "not_for_kind")
        if self.kind == "report" and (
            self.target.ids or self.target.filter or self.target.segment_id
        ):
            raise Refused(
                "target", "a report has no target: its query chooses the rows", "not_for_kind"
            )
        if self.currency is not None and self.kind != "wallets":
            raise Refused("currency", "`currency` is for kind wallets", "not_for_kind")
        try:
            columns_of(self.kind, self.fields)
        except UnknownField as error:
            named = repr(error.name) if _PARAMETER.match(error.name) else "given"
            raise Refused(
                "fields",
                f"unknown field {named} for kind {self.kind}: one of"
                f" {', '.join(c.name for c in COLUMNS[self.kind])}",
                "unknown_field",
            ) from None
        return self

    def chosen_fields(self) -> list[str]:
        return [c.name for c in columns_of(self.kind, self.fields)]


class ExportFile(BaseModel):
    name: str
    rows: int
    size: int = Field(description="Bytes.")
    sheets: list[str] = Field(description="XLSX: the sheets, a new one every 1,048,575 rows.")
    url: str | None = Field(description="Presigned GET, short-lived: a fresh one on every GET.")


class Progress(BaseModel):
    rows_done: int
    total: int | None = Field(description="Rows the export will have, once the owner knows.")
    parts_done: int


class ExportJob(BaseModel):
    id: str
    kind: str
    status: Literal["running", "assembling", "done", "failed", "expired"]
    format: str
    language: str
    fields: list[str]
    target: dict[str, Any]
    report: dict[str, Any] | None
    currency: str | None
    requested_by: str = Field(description="The token's subject (`store` if it names none).")
    requested_at: datetime
    finished_at: datetime | None
    progress: Progress
    rows: int | None = Field(description="Rows in the files, when done.")
    size: int | None = Field(description="Bytes of the files, when done.")
    files: list[ExportFile] = Field(
        description="When done: one file, or one CSV per 1,048,575 rows."
    )
    url: str | None = Field(description="The first file's link (see `files`).")
    link_expires_at: datetime | None
    expires_at: datetime | None = Field(description="When the files are deleted (7 days).")
    reason: str | None = Field(description="Why the job failed.")
    field: str | None = Field(description="The request field at fault, when there is one.")
    notified: bool | None = Field(description="Whether the link was e-mailed (`notify`).")


class ExportPage(BaseModel):
    """The store's export jobs, newest first: the record of every export of its data."""

    items: list[ExportJob]
    next_cursor: str | None


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, min_length=1, max_length=200)


__all__ = [
    "DEFAULT_FIELDS",
    "LANGUAGES",
    "RETENTION",
    "ExportJob",
    "ExportPage",
    "ListQuery",
    "NewExport",
]
