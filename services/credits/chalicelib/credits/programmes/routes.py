"""Routes of the store's credits settings and of each customer's cashbacks."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.credits.programmes import usecases
from chalicelib.credits.programmes.models import (
    CashbackList,
    CashbackOut,
    CreditsSettings,
    CreditsSettingsOut,
)
from chalicelib.credits.programmes.rules import Status
from chalicelib.credits.programmes.store import StaleVersion
from chalicelib.credits.wallets.usecases import wallet_store
from clientela import problems
from clientela.api import Call, Reply, Routes, if_match_versions
from clientela.ids import is_id
from clientela.problems import Problem

routes = Routes()
register = routes.register


@routes.route(
    "/credits/settings",
    "GET",
    summary="Get the store's credits settings",
    response=CreditsSettingsOut,
    response_headers=("ETag",),
)
def get_settings(call: Call) -> Reply:
    """The defaults (version 0) until the store sets them."""
    found = usecases.get_settings(call.store_id)
    return Reply(200, CreditsSettingsOut.of(found), {"ETag": f'"{found.version}"'})


@routes.route(
    "/credits/settings",
    "PUT",
    summary="Set the store's credits settings",
    body=CreditsSettings,
    response=CreditsSettingsOut,
    errors=(412, 422, 428),
    headers=("If-Match",),
    response_headers=("ETag",),
)
def put_settings(call: Call) -> Reply:
    """Default currency, the `credit.expiring` lead time and the cashback programme. Once set,
    a change names the version it read in If-Match (428 without it, 412 if stale)."""
    body: CreditsSettings = call.body
    try:
        written = usecases.put_settings(
            call.store_id, body.domain(), if_match_versions(call.header("If-Match"))
        )
    except usecases.PreconditionRequired:
        raise Problem(
            428,
            "precondition-required",
            "If-Match is required",
            "Read the settings and send their ETag in If-Match",
        ) from None
    except StaleVersion as error:
        raise Problem(
            412,
            "precondition-failed",
            "The settings have changed",
            "Read them again and apply your change to the current version",
            extra={"current_version": error.current},
            headers={"ETag": f'"{error.current}"'},
        ) from None
    return Reply(200, CreditsSettingsOut.of(written), {"ETag": f'"{written.version}"'})


@routes.route(
    "/wallets/{customer_id}/cashback",
    "GET",
    summary="A customer's cashbacks",
    response=CashbackList,
    errors=(404,),
)
def get_cashback(call: Call, customer_id: str) -> Reply:
    """Pending, granted and voided (with the reason) cashbacks, newest order first, and the sum
    still pending."""
    if not is_id(customer_id) or wallet_store().get(call.store_id, customer_id) is None:
        raise problems.not_found("wallet")
    found = usecases.cashbacks(call.store_id, customer_id)
    pending = [c for c in found if c.status is Status.PENDING]
    total = sum((c.amount for c in pending), Decimal(0))
    return Reply(200, CashbackList(pending=str(total), items=[CashbackOut.of(c) for c in found]))
