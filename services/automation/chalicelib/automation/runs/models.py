"""API models of runs: a scheduled flow's occurrences and their fan-out jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.automation.contacts.rules import CONTACT_SHARDS
from chalicelib.automation.runs.rules import occurrence_id
from chalicelib.automation.runs.store import FanoutJob


class OccurrenceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=50)
    cursor: str | None = Field(default=None, max_length=4096, description="From `next_cursor`.")


class ShardProgress(BaseModel):
    shard: int = Field(description="The contacts shard (0-15) this part of the job walks.")
    done: bool = Field(description="Every contact of the shard was considered.")
    runs_started: int


class Occurrence(BaseModel):
    """One occurrence of a scheduled flow and its fan-out job: one part per contacts shard,
    each walking its shard a page at a time and starting a run per contact the filter lets in."""

    id: str = Field(description="The occurrence's UTC instant, compact (`20261201T130000Z`).")
    flow_id: str
    at: datetime = Field(description="When the occurrence was due.")
    opened_at: datetime = Field(description="When the schedule's tick opened the job.")
    flow_version: int = Field(description="The flow's version the runs start on.")
    status: Literal["running", "done"] = Field(
        description="`done` once every shard is walked (a flow paused meanwhile stays `running`:"
        " its pages start nothing more)."
    )
    shards: int
    shards_done: int
    runs_started: int
    progress: list[ShardProgress] = Field(description="Per shard, in shard order.")

    @classmethod
    def of(cls, flow_id: str, job: FanoutJob) -> Occurrence:
        progress = []
        for n in range(CONTACT_SHARDS):
            shard_done, started = job.shards.get(n, (False, 0))  # not reached yet: nothing
            progress.append(ShardProgress(shard=n, done=shard_done, runs_started=started))
        done = sum(1 for shard in progress if shard.done)
        return cls(
            id=occurrence_id(job.occurrence),
            flow_id=flow_id,
            at=job.occurrence,
            opened_at=job.opened_at,
            flow_version=job.version,
            status="done" if done == CONTACT_SHARDS else "running",
            shards=CONTACT_SHARDS,
            shards_done=done,
            runs_started=sum(shard.runs_started for shard in progress),
            progress=progress,
        )


class OccurrenceList(BaseModel):
    items: list[Occurrence]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for older occurrences; null at the end."
    )
