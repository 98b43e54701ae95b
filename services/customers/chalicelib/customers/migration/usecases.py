"""Re-keying a store from the first layout: a job that runs a page at a time, resumable.

`migrate_store` moves up to `budget` items and records where it stands (`STORE#<store> /
MIGRATION`): the customers, then orders, review markers and merge records, then a sweep of the
old search entries, tag memberships, tag counts and e-mail reservations. Call it again until
it answers `done`; a run that stops anywhere (a crash, a timeout) is taken up from its last
checkpoint, and a step run twice changes nothing more (migration/store.py).

The store is migrated before the new code serves it (its readers read the new keys only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.customers.migration.store import ENTITY_PREFIXES, MigrationStore
from chalicelib.customers.profiles.store import CUSTOMER_PREFIX
from chalicelib.customers.settings import settings
from clientela import aws

PAGE = 25
PHASES = ("customers", *ENTITY_PREFIXES, "sweep", "done")


@dataclass(frozen=True)
class MigrationStatus:
    phase: str  # the phase to run next; "done" when the store has the new layout only
    moved: int  # items moved so far, over every run


def migration_store() -> MigrationStore:
    return MigrationStore(aws.dynamodb(), settings().table)


def migrate_store(store_id: str, *, budget: int = 1000) -> MigrationStatus:
    store = migration_store()
    state: dict[str, Any] = store.checkpoint(store_id)
    done = 0
    while state["phase"] != "done" and done < budget:
        phase = state["phase"]
        if phase == "sweep":
            store.sweep(store_id)
            state = {"phase": "done", "moved": state["moved"]}
            store.save(store_id, state)
            break
        prefix = CUSTOMER_PREFIX if phase == "customers" else phase
        items, last = store.old_items(store_id, prefix, state.get("last"), min(PAGE, budget))
        for item in items:
            if phase == "customers":
                store.move_customer(store_id, item)
            else:
                store.move_entity(store_id, item)
        done += len(items)
        moved = int(state["moved"]) + len(items)
        if last:
            state = {"phase": phase, "moved": moved, "last": last}
        else:
            state = {"phase": PHASES[PHASES.index(phase) + 1], "moved": moved}
        store.save(store_id, state)
    return MigrationStatus(state["phase"], int(state["moved"]))
