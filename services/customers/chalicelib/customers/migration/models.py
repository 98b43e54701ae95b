"""What the re-keying job's routes answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class MigrationCounts(BaseModel):
    customers: int = Field(default=0, description="Customers moved to their own partitions.")
    orders: int = 0
    reviews: int = 0
    merges: int = Field(default=0, description="Merge records moved.")
    swept: int = Field(default=0, description="Leftovers of the first layout deleted at the end.")


class Migration(BaseModel):
    """The store's re-keying from the first layout (one partition per store) to today's."""

    status: Literal["not_started", "running", "done", "failed"]
    phase: str | None = Field(
        description="What it moves next: customers, ORDER#, REVIEW#, MERGE#, sweep; done."
    )
    chunk: int = Field(description="Chunks run so far (each moves up to 100 items).")
    examined: int = Field(description="First-layout items read and moved (or found moved).")
    counts: MigrationCounts
    error: str | None = Field(description="Why a failed job stopped (POST again to resume).")
    started_at: str | None
    updated_at: str | None
    finished_at: str | None

    @classmethod
    def of(cls, job: Any | None) -> Migration:
        if job is None:
            return cls(
                status="not_started",
                phase=None,
                chunk=0,
                examined=0,
                counts=MigrationCounts(),
                error=None,
                started_at=None,
                updated_at=None,
                finished_at=None,
            )
        return cls(
            status=job.status,
            phase=job.phase,
            chunk=job.chunk,
            examined=job.moved,
            counts=MigrationCounts(**job.counts),
            error=job.error,
            started_at=job.started_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )
