"""Re-keying a store from the first layout: a job that runs a chunk at a time, resumable.

`start_migration` writes the job (`STORE#<store> / MIGRATION`: status, phase, cursor, counts),
marks the store as migrating (its readers then also read what is not moved yet: README "Data
model") and queues the first chunk on the jobs queue (`run_bulk_job` hands it to `run_chunk`).
Each chunk moves up to CHUNK items from the job's cursor (the customers, then orders, review
markers and merge records, then a sweep of what is left of the old lists), saves the job on
condition it is still at that chunk, and queues the next, so no Lambda ever loops over a whole
store, and a redelivered or duplicate chunk saves nothing. A chunk that stops anywhere (a
crash, a timeout) is delivered again and redoes its moves, each of which is idempotent
(migration/store.py). An item that cannot be moved fails the job with the reason (`error`),
leaving the store readable as it is; `POST /migration` again resumes it from its cursor.

`migrate_store` runs the same steps in a loop, for a caller that holds the whole budget
(tests, an operator's shell).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.customers.migration.store import ENTITY_PREFIXES, MigrationStore
from chalicelib.customers.profiles.store import CUSTOMER_PREFIX
from chalicelib.customers.settings import settings
from clientela import aws

PAGE = 25
CHUNK = 100  # items a chunk moves: ~4 requests each, a few seconds of the 15 s timeout
PHASES = ("customers", *ENTITY_PREFIXES, "sweep", "done")
JOB_ID = "MIGRATION"  # the job id of its chunk messages on the jobs queue
COUNTED = {"customers": "customers", "ORDER#": "orders", "REVIEW#": "reviews", "MERGE#": "merges"}
RUNNING, DONE, FAILED = "running", "done", "failed"


class CannotMove(Exception):
    """An item of the first layout that cannot be read as what its key says it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MigrationStatus:
    phase: str  # the phase to run next; "done" when the store has the new layout only
    moved: int  # items moved so far, over every run


@dataclass(frozen=True)
class Migration:
    """The job as `GET /migration` shows it."""

    status: str
    phase: str
    moved: int
    counts: dict[str, int]
    chunk: int
    started_at: str | None
    updated_at: str | None
    finished_at: str | None
    error: str | None

    @classmethod
    def of(cls, state: dict[str, Any]) -> Migration:
        return cls(
            status=str(state.get("status", RUNNING)),
            phase=str(state["phase"]),
            moved=int(state.get("moved", 0)),
            counts={name: int(value) for name, value in (state.get("counts") or {}).items()},
            chunk=int(state.get("chunk", 0)),
            started_at=state.get("started_at"),
            updated_at=state.get("updated_at"),
            finished_at=state.get("finished_at"),
            error=state.get("error"),
        )


def migration_store() -> MigrationStore:
    return MigrationStore(aws.dynamodb(), settings().table)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _step(store: MigrationStore, store_id: str, state: dict[str, Any], budget: int) -> int:
    """Moves up to `budget` items from the state's cursor, updating `state`; how many."""
    phase = state["phase"]
    if phase == "sweep":
        removed, finished = store.sweep_some(store_id, budget)
        counts = state.setdefault("counts", {})
        counts["swept"] = int(counts.get("swept", 0)) + removed
        if finished:
            state["phase"] = "done"
        return max(removed, 1)
    prefix = CUSTOMER_PREFIX if phase == "customers" else phase
    items, last = store.old_items(store_id, prefix, state.get("last"), min(PAGE, budget))
    for item in items:
        try:
            if phase == "customers":
                moved = store.move_customer(store_id, item)
            else:
                store.move_entity(store_id, item)
                moved = True
        except (KeyError, ValueError, TypeError) as error:
            # Only the key and the error's kind: the item's values may be personal data.
            raise CannotMove(f"{item['sk']['S']}: {type(error).__name__}") from error
        if moved:
            counts = state.setdefault("counts", {})
            counts[COUNTED[phase]] = int(counts.get(COUNTED[phase], 0)) + 1
    state["moved"] = int(state.get("moved", 0)) + len(items)
    if last:
        state["last"] = last
    else:
        state.pop("last", None)
        # A customer refused by a race is read again: the phase ends on an empty partition.
        if not store.old_items(store_id, prefix, None, 1)[0]:
            state["phase"] = PHASES[PHASES.index(phase) + 1]
    return max(len(items), 1)


def migrate_store(store_id: str, *, budget: int = 1000) -> MigrationStatus:
    """Runs the job's steps here, up to `budget` items, from its checkpoint."""
    store = migration_store()
    state: dict[str, Any] = store.checkpoint(store_id)
    if not store.exists(store_id):
        store.customers.set_migrating(store_id, True)
    done = 0
    while state["phase"] != "done" and done < budget:
        done += _step(store, store_id, state, budget - done)
        if state["phase"] == "done":
            state.update(status=DONE, finished_at=_now())
        store.save(store_id, state)
    if state["phase"] == "done":
        store.customers.set_migrating(store_id, False)
    return MigrationStatus(state["phase"], int(state["moved"]))


def get_migration(store_id: str) -> Migration | None:
    store = migration_store()
    return Migration.of(store.checkpoint(store_id)) if store.exists(store_id) else None


def start_migration(store_id: str) -> Migration:
    """Starts the store's re-keying, or resumes it (a failed job from its cursor, a running
    one whose chunk message was lost); a finished job is left as it is."""
    store = migration_store()
    now = _now()
    fresh = {
        "status": RUNNING,
        "phase": "customers",
        "moved": 0,
        "chunk": 0,
        "queued": 0,
        "counts": {},
        "started_at": now,
        "updated_at": now,
    }
    if store.create(store_id, fresh):
        store.customers.set_migrating(store_id, True)
        _queue(store_id, 0)
        return Migration.of(fresh)
    state = store.checkpoint(store_id)
    if state.get("status") == DONE:
        return Migration.of(state)
    chunk = int(state.get("chunk", 0))
    if state.get("status") == FAILED:
        state.update(status=RUNNING, updated_at=now)
        state.pop("error", None)
        if not store.save(store_id, state, after_chunk=chunk):
            return Migration.of(store.checkpoint(store_id))
    store.customers.set_migrating(store_id, True)
    _queue(store_id, chunk)  # a duplicate of a queued chunk is dropped by run_chunk
    return Migration.of(state)


@functools.cache
def _queue_url() -> str:
    url: str = aws.client("sqs").get_queue_url(QueueName=settings().jobs_queue)["QueueUrl"]
    return url


def _queue(store_id: str, chunk: int) -> None:
    body = json.dumps({"store_id": store_id, "job_id": JOB_ID, "chunk": chunk})
    aws.client("sqs").send_message(QueueUrl=_queue_url(), MessageBody=body)


def run_chunk(store_id: str, chunk: int, *, budget: int | None = None) -> str:  # noqa: PLR0911
    """Runs the chunk if it is the job's next one; what happened, in a word (for the log)."""
    store = migration_store()
    if not store.exists(store_id):
        return "no job to run"
    state = store.checkpoint(store_id)
    if state.get("status") != RUNNING:
        return "no job to run"
    current = int(state.get("chunk", 0))
    if chunk != current:
        if chunk == current - 1 and int(state.get("queued", 0)) < current:
            _queue(store_id, current)  # saved, but its successor was never sent
            store.mark_queued(store_id, current)
            return "successor queued"
        return "duplicate"
    try:
        done = 0
        limit = budget or CHUNK
        while state["phase"] != "done" and done < limit:
            done += _step(store, store_id, state, limit - done)
    except CannotMove as error:
        fail(store_id, chunk, f"cannot move {error.reason}")
        return "failed"
    state.update(chunk=chunk + 1, updated_at=_now())
    if state["phase"] == "done":
        state.update(status=DONE, finished_at=state["updated_at"])
    if not store.save(store_id, state, after_chunk=chunk):
        return "duplicate"  # another delivery of this chunk saved first
    if state["phase"] == "done":
        store.customers.set_migrating(store_id, False)
        return "finished"
    _queue(store_id, chunk + 1)
    store.mark_queued(store_id, chunk + 1)
    return "advanced"


def fail(store_id: str, chunk: int, reason: str) -> None:
    """The job stops at this chunk, saying why; the store stays readable in both layouts."""
    store = migration_store()
    state = store.checkpoint(store_id)
    if int(state.get("chunk", 0)) != chunk or state.get("status") != RUNNING:
        return
    state.update(status=FAILED, error=reason, updated_at=_now())
    store.save(store_id, state, after_chunk=chunk)
