"""Credits service: HTTP routes and event handlers. Each one parses, calls a use case, answers."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, SQSEvent

from chalicelib.credits import usecases
from chalicelib.credits.consumer import handle_batch
from chalicelib.credits.domain import WalletNotFound
from chalicelib.credits.models import Wallet
from chalicelib.credits.settings import settings
from clientela import problems
from clientela.api import Call, Reply, Service
from clientela.observability import install, observability

app = Chalice(app_name="clientela-credits")
obs = observability("credits")
install(app, obs)
service = Service(app, "credits", obs)


@service.route(
    "/wallets/{customer_id}",
    "GET",
    summary="Get a customer's wallet",
    response=Wallet,
    errors=(404,),
)
def get_wallet(call: Call, customer_id: str) -> Reply:
    """Every customer gets an empty wallet when its profile is created."""
    try:
        wallet = usecases.get_wallet(call.store_id, customer_id)
    except WalletNotFound:
        raise problems.not_found("wallet") from None
    return Reply(200, Wallet.of(wallet))


@app.on_sqs_message(queue=settings().customer_events_queue, batch_size=10)
@obs.tracer.capture_method
def on_customer_event(event: SQSEvent) -> dict[str, Any]:
    """customer.created opens a wallet, customer.deleted closes it (bus -> queue -> here)."""
    return handle_batch(event.to_dict(), event.context)
