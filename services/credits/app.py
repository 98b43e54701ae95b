"""Credits service: where its routes and event handlers are wired.

Each area of the product is a package of `chalicelib/credits/` with the same roles as in every
service (`routes.py`, `usecases.py`, `store.py`, `models.py`, `rules.py`, `handlers.py`). Event
handlers stay here, where Chalice finds them, and hand over at once.

Adding a route module or a handler: root README, "Adding to a service".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, CloudWatchEvent, DynamoDBEvent, Rate, SQSEvent

from chalicelib.credits.settings import settings
from clientela import functions
from clientela.api import Service
from clientela.observability import install, observability

# The API handler's route modules, each declaring its routes with `register(service)`; on
# Lambda each is imported on the first request of one of its routes (Service.routes).
ROUTE_MODULES = (
    "chalicelib.credits.ledger.routes",
    "chalicelib.credits.coupons.routes",
    "chalicelib.credits.referrals.routes",
    "chalicelib.credits.programmes.routes",
)
# Each event, queue and schedule handler's code, imported with its first call on Lambda
# (clientela.functions.on_first_call), at once anywhere else.
if TYPE_CHECKING:
    from chalicelib.credits import inbox, publishing
    from chalicelib.credits.extracts import handlers as extract_handlers
    from chalicelib.credits.ledger import handlers as ledger_handlers
    from chalicelib.credits.programmes import handlers as cashback_handlers
    from chalicelib.credits.referrals import handlers as referral_handlers
    from chalicelib.credits.wallets import handlers as wallet_handlers
else:
    wallet_handlers = functions.on_first_call("chalicelib.credits.wallets.handlers")
    publishing = functions.on_first_call("chalicelib.credits.publishing")
    ledger_handlers = functions.on_first_call("chalicelib.credits.ledger.handlers")
    inbox = functions.on_first_call("chalicelib.credits.inbox")
    referral_handlers = functions.on_first_call("chalicelib.credits.referrals.handlers")
    cashback_handlers = functions.on_first_call("chalicelib.credits.programmes.handlers")
    extract_handlers = functions.on_first_call("chalicelib.credits.extracts.handlers")

app = Chalice(app_name="clientela-credits")
obs = observability("credits")
install(app, obs)
service = Service(app, "credits", obs)
token_authorizer = service.authorizer  # Lambda's handler for it is `app.token_authorizer`
if functions.serves(functions.API):
    service.routes(ROUTE_MODULES)


@app.on_sqs_message(queue=settings().customer_events_queue, batch_size=10)
@obs.tracer.capture_method
def on_customer_event(event: SQSEvent) -> dict[str, Any]:
    """customer.created opens a wallet, customer.deleted closes it (bus -> queue -> here)."""
    return wallet_handlers.handle_batch(event.to_dict(), event.context)


@app.on_dynamodb_record(
    stream_arn=settings().table_stream_arn, batch_size=100, starting_position="TRIM_HORIZON"
)
@obs.tracer.capture_method
def publish_credit_changes(event: DynamoDBEvent) -> dict[str, Any]:
    """Table stream -> credit.*, cashback.*, referral.*, coupon.* on the bus."""
    return publishing.publish_changes(event.to_dict()["Records"])


@app.schedule(Rate(1, unit=Rate.HOURS))
@obs.tracer.capture_method
def expire_credits(event: CloudWatchEvent) -> dict[str, Any]:
    """Expires the lots whose date has passed (one `expiration` entry per lot)."""
    return ledger_handlers.expire_due(event.to_dict())


@app.on_sqs_message(queue=settings().offer_events_queue, batch_size=10)
@obs.tracer.capture_method
def on_offer_event(event: SQSEvent) -> dict[str, Any]:
    """Coupons and referrals follow customer and order events (bus -> queue -> here)."""
    return inbox.handle_batch(event.to_dict(), event.context)


@app.schedule(Rate(1, unit=Rate.HOURS))
@obs.tracer.capture_method
def reward_due_referrals(event: CloudWatchEvent) -> dict[str, Any]:
    """Qualified referrals past their hold window get both rewards (through the ledger)."""
    return referral_handlers.reward_due(event.time)


@app.schedule(Rate(1, unit=Rate.HOURS))
@obs.tracer.capture_method
def grant_due_cashback(event: CloudWatchEvent) -> dict[str, Any]:
    """Pending cashbacks past their hold window are granted (through the ledger)."""
    return cashback_handlers.grant_due(event.to_dict())


# One part per invocation: at most `rows_per_part` wallets, well within the 15 s timeout.
@app.on_sqs_message(queue=settings().extracts_queue, batch_size=1)
@obs.tracer.capture_method
def on_export_request(event: SQSEvent) -> dict[str, Any]:
    """Wallets exports (export.requested): writes the rows into the exports bucket, answers."""
    return extract_handlers.handle_batch(event.to_dict(), event.context)
