"""Customers service: where its routes and event handlers are wired.

Each area of the product is a package of `chalicelib/customers/` holding the same roles
(`routes.py`, `handlers.py`, `usecases.py`, `store.py`, `models.py`, `rules.py`); a route parses,
calls a use case, answers. Event handlers stay here, where Chalice finds them, and hand over at
once.

Adding to it (each Lambda function imports only its own code: root README, "Cold start"):
- a route module: one line in `ROUTE_MODULES` (its `register(service)` declares its routes);
  the API handler imports it on the first request of one of its routes on Lambda, and at once
  anywhere else (tests, the local stack, the OpenAPI document);
- an event, queue or schedule handler: its modules imported under
  `if functions.serves("<its name>"):`, and the handler below, which hands over at once.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, DynamoDBEvent, SQSEvent

from chalicelib.customers.settings import settings
from clientela import functions
from clientela.api import Service
from clientela.observability import install, observability

# The API handler's route modules, each declaring its routes with `register(service)`; on
# Lambda each is imported on the first request of one of its routes (Service.routes).
ROUTE_MODULES = (
    "chalicelib.customers.profiles.routes",
    "chalicelib.customers.photos.routes",
    "chalicelib.customers.search.routes",
    "chalicelib.customers.merge.routes",
    "chalicelib.customers.timeline.routes",
    "chalicelib.customers.orders.routes",
    "chalicelib.customers.orders.reports.routes",
    "chalicelib.customers.segments.routes",
    "chalicelib.customers.bulk.routes",
    "chalicelib.customers.migration.routes",
)
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
    service.routes(ROUTE_MODULES)


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
