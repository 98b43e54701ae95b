"""Exports service: where its routes and event handlers are wired.

Each area of the product is a package of `chalicelib/exports/` with the same roles as in every
service. Event handlers stay here, where Chalice finds them, and hand over at once.

Adding a route module or a handler: root README, "Adding to a service".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, SQSEvent

from chalicelib.exports.settings import settings
from clientela import functions
from clientela.api import Service
from clientela.observability import install, observability

# The API handler's route modules, each declaring its routes with `register(service)`; on
# Lambda each is imported on the first request of one of its routes (Service.routes).
ROUTE_MODULES = (
    "chalicelib.exports.exports.routes",
    "chalicelib.exports.privacy.routes",
    "chalicelib.exports.imports.routes",
)
# Each event, queue and schedule handler's code, imported with its first call on Lambda
# (clientela.functions.on_first_call), at once anywhere else.
if TYPE_CHECKING:
    from chalicelib.exports.exports import handlers as export_handlers
    from chalicelib.exports.imports import handlers as import_handlers
    from chalicelib.exports.privacy import handlers as privacy_handlers
else:
    export_handlers = functions.on_first_call("chalicelib.exports.exports.handlers")
    privacy_handlers = functions.on_first_call("chalicelib.exports.privacy.handlers")
    import_handlers = functions.on_first_call("chalicelib.exports.imports.handlers")

app = Chalice(app_name="clientela-exports")
obs = observability("exports")
install(app, obs)
service = Service(app, "exports", obs)
token_authorizer = service.authorizer  # Lambda's handler for it is `app.token_authorizer`
if functions.serves(functions.API):
    service.routes(ROUTE_MODULES)


@app.on_sqs_message(queue=settings().parts_queue, batch_size=1)
@obs.tracer.capture_method
def on_export_part(event: SQSEvent) -> dict[str, Any]:
    """Owners' export parts: count each once, ask for the next, assemble the file after the
    last (one message per invocation: an assembly may take minutes)."""
    return export_handlers.handle_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue=settings().privacy_queue, batch_size=10)
@obs.tracer.capture_method
def on_privacy_event(event: SQSEvent) -> dict[str, Any]:
    """Privacy requests: this service's own part, and every service's answer (bus -> queue)."""
    return privacy_handlers.handle_batch(event.to_dict(), event.context)


# One message per invocation: reading a 50 MB file takes minutes (its own timeout, 900 s).
@app.on_sqs_message(queue=settings().imports_queue, batch_size=1)
@obs.tracer.capture_method
def run_imports(event: SQSEvent) -> dict[str, Any]:
    """Imports: read the file, publish the commit, and the customers service's answers."""
    return import_handlers.handle_batch(event.to_dict(), event.context)
