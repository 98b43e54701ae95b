"""Routes of the refer-a-friend programme: its settings and its referrers.

Each parses, calls a use case, answers.
"""

from __future__ import annotations

from chalicelib.credits.referrals import usecases
from chalicelib.credits.referrals.models import NewReferrer, Programme, ProgrammeSettings, Referrer
from chalicelib.credits.referrals.rules import NoProgramme, ReferrerNotFound
from chalicelib.credits.wallets.routes import require_customer
from clientela import problems
from clientela.api import Call, Reply, Routes
from clientela.ids import is_id
from clientela.problems import Problem

routes = Routes()
register = routes.register


def _no_programme() -> Problem:
    return Problem(
        409,
        "no-referral-programme",
        "The store has no refer-a-friend programme",
        "Set it up first with PUT /referrals/programme",
    )


@routes.route(
    "/referrals/programme",
    "PUT",
    summary="Set the refer-a-friend programme",
    body=ProgrammeSettings,
    response=Programme,
    errors=(422,),
)
def put_programme(call: Call) -> Reply:
    """Rewards, their currency and expiry, the hold window and the per-referrer monthly cap."""
    body: ProgrammeSettings = call.body
    programme = usecases.set_programme(
        call.store_id,
        referrer_reward=body.referrer_reward,
        friend_reward=body.friend_reward,
        currency=body.currency,
        expiry_days=body.expiry_days,
        hold_window_days=body.hold_window_days,
        monthly_cap=body.monthly_cap,
        share_base_url=str(body.share_base_url),
    )
    return Reply(200, Programme.of(programme))


@routes.route(
    "/referrals/programme",
    "GET",
    summary="Get the refer-a-friend programme",
    response=Programme,
    errors=(404,),
)
def get_programme(call: Call) -> Reply:
    """404 until the store sets one up."""
    try:
        programme = usecases.get_programme(call.store_id)
    except NoProgramme:
        raise problems.not_found("referral programme") from None
    return Reply(200, Programme.of(programme))


@routes.route(
    "/referrers",
    "POST",
    summary="Enrol a customer as a referrer",
    body=NewReferrer,
    response=Referrer,
    status=201,
    also={200: Referrer},
    errors=(409, 422),
    response_headers=("Location",),
)
def enrol_referrer(call: Call) -> Reply:
    """Gives the customer a code and a share link (201); enrolling again answers them (200).
    409 `no-referral-programme` while the store has none."""
    body: NewReferrer = call.body
    require_customer(call.store_id, body.customer_id)
    try:
        referrer, new = usecases.enrol(call.store_id, body.customer_id)
    except NoProgramme:
        raise _no_programme() from None
    return Reply(
        201 if new else 200,
        Referrer.of(referrer),
        {"Location": f"/referrers/{referrer.customer_id}"},
    )


@routes.route(
    "/referrers/{customer_id}",
    "GET",
    summary="Get a referrer",
    response=Referrer,
    errors=(404,),
)
def get_referrer(call: Call, customer_id: str) -> Reply:
    """The customer's code and share link; 404 if the customer never enrolled."""
    try:
        if not is_id(customer_id):
            raise ReferrerNotFound
        referrer = usecases.get_referrer(call.store_id, customer_id)
    except ReferrerNotFound:
        raise problems.not_found("referrer") from None
    return Reply(200, Referrer.of(referrer))
