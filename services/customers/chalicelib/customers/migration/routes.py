"""The store's re-keying job: started (or resumed) and followed by an operator."""

from __future__ import annotations

from chalicelib.customers.migration import usecases as migration
from chalicelib.customers.migration.models import Migration
from clientela.api import Call, Reply, Service


def register(service: Service) -> None:
    @service.route(
        "/migration",
        "POST",
        summary="Re-key the store from the first layout (start or resume the job)",
        response=Migration,
        status=202,
        response_headers=("Location",),
    )
    def start_migration(call: Call) -> Reply:
        """Moves the store's customers, orders, review markers and merge records to the
        partitions of today's layout in chunks on the jobs queue, then deletes what is left of
        the first layout. The store is served all along: until the job is done, reads also read
        what is not moved yet. Safe to call again: a running job goes on (a lost chunk is sent
        again), a failed one resumes from where it stopped, a finished one is answered as is.
        Follow it with `GET /migration`."""
        job = migration.start_migration(call.store_id)
        return Reply(202, Migration.of(job), {"Location": "/migration"})

    @service.route(
        "/migration",
        "GET",
        summary="The store's re-keying job: status, phase, counts",
        response=Migration,
    )
    def get_migration(call: Call) -> Reply:
        """`not_started` for a store that never ran one (every store created since is in
        today's layout)."""
        return Reply(200, Migration.of(migration.get_migration(call.store_id)))
