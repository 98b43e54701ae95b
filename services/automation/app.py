"""Automation service: where its routes and event handlers are wired.

Each area of the product is a package of `chalicelib/automation/` with the same roles as in
every service. Event handlers stay here, where Chalice finds them, and hand over at once.

Adding a route module or a handler: root README, "Adding to a service".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent

from chalicelib.automation.settings import settings
from clientela import functions
from clientela.api import Service
from clientela.observability import install, observability

# The API handler's route modules, each declaring its routes with `register(service)`; on
# Lambda each is imported on the first request of one of its routes (Service.routes).
ROUTE_MODULES = (
    "chalicelib.automation.templates.routes",
    "chalicelib.automation.messages.routes",
    "chalicelib.automation.sending.routes",
    "chalicelib.automation.flows.routes",
    "chalicelib.automation.stats.routes",
    "chalicelib.automation.runs.routes",
)
# Each event, queue and schedule handler's code, imported with its first call on Lambda
# (clientela.functions.on_first_call), at once anywhere else.
if TYPE_CHECKING:
    from chalicelib.automation import inbox
    from chalicelib.automation.messages import handlers as message_handlers
    from chalicelib.automation.runs import handlers as run_handlers
    from chalicelib.automation.sending import handlers as sending_handlers
else:
    inbox = functions.on_first_call("chalicelib.automation.inbox")
    sending_handlers = functions.on_first_call("chalicelib.automation.sending.handlers")
    run_handlers = functions.on_first_call("chalicelib.automation.runs.handlers")
    message_handlers = functions.on_first_call("chalicelib.automation.messages.handlers")

app = Chalice(app_name="clientela-automation")
obs = observability("automation")
install(app, obs)
service = Service(app, "automation", obs)
token_authorizer = service.authorizer  # Lambda's handler for it is `app.token_authorizer`
if functions.serves(functions.API):
    service.routes(ROUTE_MODULES)


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


@app.on_sqs_message(queue=settings().flow_events_queue, batch_size=10)
@obs.tracer.capture_method
def on_flow_event(event: SQSEvent) -> dict[str, Any]:
    """Triggers start runs; customer events end or resume them; opens, clicks and orders feed
    the flows' stats (bus -> queue -> here)."""
    return run_handlers.handle_event_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue=settings().flow_steps_queue, batch_size=10)
@obs.tracer.capture_method
def on_flow_step(event: SQSEvent) -> dict[str, Any]:
    """The runs' state machine asks for a step's decision, or parks a wait (task tokens)."""
    return run_handlers.handle_task_batch(event.to_dict(), event.context)


@app.schedule(Rate(1, unit=Rate.MINUTES))
@obs.tracer.capture_method
def fire_due_timers(event: CloudWatchEvent) -> dict[str, Any]:
    """Resumes the runs whose wait is due (by the rule's time: the local clock's, locally)."""
    return run_handlers.fire_due(event.to_dict())


@app.schedule(Rate(1, unit=Rate.HOURS))
@obs.tracer.capture_method
def fire_date_triggers(event: CloudWatchEvent) -> dict[str, Any]:
    """Starts the runs of date triggers due today (each store's day; hourly, so every time
    zone's midnight is met within the hour, and a missed tick is caught up by the next)."""
    return run_handlers.fire_dates(event.to_dict())


@app.schedule(Rate(1, unit=Rate.MINUTES))
@obs.tracer.capture_method
def fire_flow_schedules(event: CloudWatchEvent) -> dict[str, Any]:
    """Scheduled flows: each occurrence due opens its fan-out over the contacts, a page per
    message on the steps queue (resumable: a cursor per shard)."""
    return run_handlers.fire_schedules(event.to_dict())


@app.on_sqs_message(queue=settings().inbound_queue, batch_size=10)
@obs.tracer.capture_method
def on_inbound_mail(event: SQSEvent) -> dict[str, Any]:
    """Replies SES stored in the inbound bucket are threaded (S3 notification -> queue)."""
    return message_handlers.handle_batch(event.to_dict(), event.context)
