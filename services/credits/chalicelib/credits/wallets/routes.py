"""Routes of /wallets: a customer's wallet. Each parses, calls a use case, answers."""

from __future__ import annotations

from chalicelib.credits.wallets import usecases
from chalicelib.credits.wallets.models import Wallet
from chalicelib.credits.wallets.rules import WalletNotFound
from clientela import problems
from clientela.api import Call, Reply, Routes
from clientela.problems import FieldError

routes = Routes()
register = routes.register


def require_customer(store_id: str, customer_id: str, field: str = "customer_id") -> None:
    """422 naming the field unless the store has this (undeleted) customer."""
    if not usecases.is_customer(store_id, customer_id):
        raise problems.invalid([FieldError(field, "No customer with that id in this store")])


@routes.route(
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
