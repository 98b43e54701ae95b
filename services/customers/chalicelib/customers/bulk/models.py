"""What the bulk actions and jobs API accepts and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.segments.models import SegmentFilter, filter_names
from clientela.ids import is_id
from clientela.problems import Refused

SYNC_LIMIT = 1000
MAX_IDS = 10_000
BulkActionName = Literal[
    "add_tags", "remove_tags", "favorite", "unfavorite", "subscribe", "unsubscribe", "delete"
]
TAG_ACTIONS = ("add_tags", "remove_tags")
CONSENT_ACTIONS = ("subscribe", "unsubscribe")


def _customer_id(value: str) -> str:
    if not is_id(value):
        raise ValueError("not a customer id")
    return value


CustomerId = Annotated[str, Field(max_length=26), AfterValidator(_customer_id)]


class BulkTarget(BaseModel):
    """Exactly one of `ids`, `filter` or `segment_id`."""

    model_config = ConfigDict(extra="forbid")

    ids: list[CustomerId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_IDS,
        description=f"Customer ids; up to {SYNC_LIMIT} are acted on at once (200), more start a"
        " job (202). Repeated ids count once.",
    )
    filter: SegmentFilter | None = Field(
        default=None, description="The filters of GET /customers, matched when the job runs."
    )
    segment_id: str | None = Field(default=None, min_length=1, max_length=26)

    @model_validator(mode="after")
    def _one(self) -> BulkTarget:
        given = [
            name for name in ("ids", "filter", "segment_id") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise Refused(
                given[1] if given else "ids",
                "give exactly one of ids, filter or segment_id",
                "one_target",
            )
        return self

    def unique_ids(self) -> list[str]:
        return list(dict.fromkeys(self.ids or []))


class BulkRequest(BaseModel):
    """One action on many customers. Each action is idempotent per customer."""

    model_config = ConfigDict(extra="forbid")

    action: BulkActionName
    tags: list[str] | None = Field(
        default=None,
        validate_default=True,
        min_length=1,
        max_length=domain.MAX_TAG_CHANGES,
        description="For add_tags and remove_tags (normalised like a customer's tags).",
    )
    channel: Literal["email", "sms"] | None = Field(
        default=None,
        validate_default=True,
        description="For subscribe (source admin, single opt-in) and unsubscribe.",
    )
    target: BulkTarget

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        _needed_by(info.data.get("action"), TAG_ACTIONS, value)
        return None if value is None else domain.normalise_tags(value)

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None, info: ValidationInfo) -> str | None:
        _needed_by(info.data.get("action"), CONSENT_ACTIONS, value)
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: BulkTarget, info: ValidationInfo) -> BulkTarget:
        flt = value.filter
        if info.data.get("action") == "delete" and flt is not None and not filter_names(flt):
            raise ValueError("deleting by filter needs at least one filter (none is everyone)")
        return value


def _needed_by(action: str | None, actions: tuple[str, ...], value: Any) -> None:
    if action is None:  # the action itself was refused
        return
    if action in actions and value is None:
        raise ValueError(f"required for {action}")
    if action not in actions and value is not None:
        raise ValueError(f"only for {' and '.join(actions)}")


class BulkItemResult(BaseModel):
    id: str
    result: Literal["updated", "unchanged", "not_found", "refused"] = Field(
        description="`updated`: changed (for delete: deleted); `unchanged`: already so."
    )
    reason: str | None = Field(default=None, description="Why it was refused.")


class BulkCounts(BaseModel):
    updated: int
    unchanged: int
    not_found: int
    refused: int


class BulkResult(BaseModel):
    """What a bulk action on up to 1,000 ids did to each customer, in the order given."""

    action: str
    counts: BulkCounts
    results: list[BulkItemResult]


class JobTarget(BaseModel):
    """What a job acts on, described without personal data."""

    kind: Literal["ids", "filter", "segment"]
    count: int | None = Field(default=None, description="ids: how many.")
    filters: list[str] | None = Field(default=None, description="filter: the filters' names.")
    segment_id: str | None = None
    segment_name: str | None = None


class JobFailure(BaseModel):
    id: str
    reason: str


class Job(BaseModel):
    """A bulk action running in the background, and its report once finished."""

    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    action: BulkActionName
    tags: list[str] | None
    channel: str | None
    target: JobTarget
    total: int | None = Field(
        description="How many customers it acts on, when known (ids: from the start)."
    )
    processed: int
    succeeded: int = Field(description="Changed (for delete: deleted).")
    skipped: int = Field(description="Already so, or no longer there.")
    failed: int = Field(description="Refused; the first 100 are in `failures`.")
    failures: list[JobFailure]
    error: str | None = Field(description="Why a failed job stopped.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, job: Any) -> Job:
        return cls(
            id=job.id,
            status=job.status,
            action=job.action["name"],
            tags=job.action.get("tags"),
            channel=job.action.get("channel"),
            target=JobTarget(**job.target),
            total=job.total,
            processed=job.processed,
            succeeded=job.succeeded,
            skipped=job.skipped,
            failed=job.failed,
            failures=[JobFailure(**f) for f in job.failures],
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            updated_at=job.updated_at,
        )
