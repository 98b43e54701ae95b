"""Automation service: where its routes and event handlers are wired.

Each area of the product is a package of `chalicelib/automation/` with the same roles as in
every service. Event handlers stay here, where Chalice finds them, and hand over at once.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, SQSEvent

from chalicelib.automation import inbox
from chalicelib.automation.messages import handlers as message_handlers
from chalicelib.automation.messages import routes as message_routes
from chalicelib.automation.sending import handlers as sending_handlers
from chalicelib.automation.sending import routes as sending_routes
from chalicelib.automation.settings import settings
from chalicelib.automation.templates import routes as template_routes
from clientela.api import Service
from clientela.observability import install, observability

app = Chalice(app_name="clientela-automation")
obs = observability("automation")
install(app, obs)
service = Service(app, "automation", obs)
for area in (template_routes, message_routes, sending_routes):
    area.register(service)


@app.on_sqs_message(queue=settings().contact_events_queue, batch_size=10)
@obs.tracer.capture_method
def on_contact_event(event: SQSEvent) -> dict[str, Any]:
    """Customer and order events keep the contacts read model (bus -> queue -> here)."""
    return inbox.handle_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue=settings().ses_events_queue, batch_size=10)
@obs.tracer.capture_method
def on_ses_feedback(event: SQSEvent) -> dict[str, Any]:
    """SES bounces and complaints suppress the address for the store (SES -> SNS -> queue)."""
    return sending_handlers.handle_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue=settings().inbound_queue, batch_size=10)
@obs.tracer.capture_method
def on_inbound_mail(event: SQSEvent) -> dict[str, Any]:
    """Replies SES stored in the inbound bucket are threaded (S3 notification -> queue)."""
    return message_handlers.handle_batch(event.to_dict(), event.context)
