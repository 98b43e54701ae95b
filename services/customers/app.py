"""Customers service: where its routes and event handlers are wired.

Each area of the product is a package of `chalicelib/customers/` holding the same roles
(`routes.py`, `handlers.py`, `usecases.py`, `store.py`, `models.py`, `rules.py`); a route parses,
calls a use case, answers. Event handlers stay here, where Chalice finds them, and hand over at
once.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, DynamoDBEvent, SQSEvent

from chalicelib.customers.settings import settings
from clientela import functions
from clientela.api import Service
from clientela.observability import install, observability

# Each Lambda function imports only its own code (root README, "Cold start").
if functions.serves(functions.API):
    from chalicelib.customers.bulk import routes as bulk_routes
    from chalicelib.customers.merge import routes as merge_routes
    from chalicelib.customers.migration import routes as migration_routes
    from chalicelib.customers.orders import routes as order_routes
    from chalicelib.customers.orders.reports import routes as report_routes
    from chalicelib.customers.photos import routes as photo_routes
    from chalicelib.customers.profiles import routes as profile_routes
    from chalicelib.customers.search import routes as search_routes
    from chalicelib.customers.segments import routes as segment_routes
    from chalicelib.customers.timeline import routes as timeline_routes
if functions.serves("publish_customer_changes"):
    from chalicelib.customers.publishing import publish_changes
if functions.serves("record_customer_history"):
    from chalicelib.customers.timeline.usecases import record_history
if functions.serves("on_inbound_event"):
    from chalicelib.customers import inbox
    from chalicelib.customers.imports import handlers as import_handlers
    from chalicelib.customers.orders import handlers as order_handlers
    from chalicelib.customers.privacy import handlers as privacy_handlers
    from chalicelib.customers.profiles import handlers as profile_handlers
    from chalicelib.customers.timeline import handlers as timeline_handlers

    # Imported for the inbox handlers they register (chalicelib.customers.inbox.HANDLERS).
    INBOX_MODULES = (
        timeline_handlers,
        order_handlers,
        profile_handlers,
        privacy_handlers,
        import_handlers,
    )
if functions.serves("run_bulk_job"):
    from chalicelib.customers.bulk import usecases as bulk
if functions.serves("on_export_request"):
    from chalicelib.customers.extracts import handlers as extract_handlers

app = Chalice(app_name="clientela-customers")
obs = observability("customers")
install(app, obs)
service = Service(app, "customers", obs)
token_authorizer = service.authorizer  # Lambda's handler for it is `app.token_authorizer`
if functions.serves(functions.API):
    for area in (
        profile_routes,
        photo_routes,
        search_routes,
        merge_routes,
        timeline_routes,
        order_routes,
        report_routes,
        segment_routes,
        bulk_routes,
        migration_routes,
    ):
        area.register(service)


@app.on_dynamodb_record(
    stream_arn=settings().table_stream_arn, batch_size=100, starting_position="TRIM_HORIZON"
)
@obs.tracer.capture_method
def publish_customer_changes(event: DynamoDBEvent) -> dict[str, Any]:
    """Table stream -> customer.created / customer.updated / customer.deleted on the bus."""
    return publish_changes(event.to_dict()["Records"])


@app.on_dynamodb_record(
    stream_arn=settings().table_stream_arn, batch_size=100, starting_position="TRIM_HORIZON"
)
@obs.tracer.capture_method
def record_customer_history(event: DynamoDBEvent) -> dict[str, Any]:
    """Table stream -> timeline entries for profile, tag and consent changes."""
    return record_history(event.to_dict()["Records"])


@app.on_sqs_message(queue=settings().inbox_queue, batch_size=10)
@obs.tracer.capture_method
def on_inbound_event(event: SQSEvent) -> dict[str, Any]:
    """Orders, reviews, activity, messages, credit movements (bus -> inbox queue -> here)."""
    return inbox.handle_batch(event.to_dict(), event.context)


# One chunk per invocation: a chunk takes up to ~10 s of the 15 s timeout.
@app.on_sqs_message(queue=settings().jobs_queue, batch_size=1)
@obs.tracer.capture_method
def run_bulk_job(event: SQSEvent) -> dict[str, Any]:
    """Bulk jobs, a chunk per message; each chunk queues the next (POST /customers/bulk)."""
    return bulk.handle_job_batch(event.to_dict(), event.context)


# One part per invocation: at most `rows_per_part` rows, well within the 15 s timeout.
@app.on_sqs_message(queue=settings().extracts_queue, batch_size=1)
@obs.tracer.capture_method
def on_export_request(event: SQSEvent) -> dict[str, Any]:
    """Export parts (export.requested): writes the rows into the exports bucket and answers."""
    return extract_handlers.handle_batch(event.to_dict(), event.context)
