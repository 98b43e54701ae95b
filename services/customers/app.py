"""Customers service: where its routes and event handlers are wired.

Each area of the product is a package of `chalicelib/customers/` holding the same roles
(`routes.py`, `handlers.py`, `usecases.py`, `store.py`, `models.py`, `rules.py`); a route parses,
calls a use case, answers. Event handlers stay here, where Chalice finds them, and hand over at
once.

Adding a route module or a handler: root README, "Adding to a service".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
# Each event and queue handler's code, imported with its first call on Lambda
# (clientela.functions.on_first_call), at once anywhere else.
if TYPE_CHECKING:
    from chalicelib.customers import inbox, publishing
    from chalicelib.customers.bulk import usecases as bulk
    from chalicelib.customers.extracts import handlers as extract_handlers
    from chalicelib.customers.timeline import usecases as timeline
else:
    publishing = functions.on_first_call("chalicelib.customers.publishing")
    timeline = functions.on_first_call("chalicelib.customers.timeline.usecases")
    inbox = functions.on_first_call("chalicelib.customers.inbox")
    bulk = functions.on_first_call("chalicelib.customers.bulk.usecases")
    extract_handlers = functions.on_first_call("chalicelib.customers.extracts.handlers")

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
    return publishing.publish_changes(event.to_dict()["Records"])


@app.on_dynamodb_record(
    stream_arn=settings().table_stream_arn, batch_size=100, starting_position="TRIM_HORIZON"
)
@obs.tracer.capture_method
def record_customer_history(event: DynamoDBEvent) -> dict[str, Any]:
    """Table stream -> timeline entries for profile, tag and consent changes."""
    return timeline.record_history(event.to_dict()["Records"])


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
