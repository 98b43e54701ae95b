"""Routes of the refer-a-friend programme: its settings and its referrers.

Each parses, calls a use case, answers.
"""

from __future__ import annotations

from chalicelib.credits.ledger.routes import require_customer
from chalicelib.credits.programmes.store import StaleVersion
from chalicelib.credits.programmes.usecases import PreconditionRequired
from chalicelib.credits.referrals import usecases
from chalicelib.credits.referrals.models import (
    NewReferral,
    NewReferrer,
    Programme,
    ProgrammeSettings,
    Referral,
    ReferralPage,
    ReferralQuery,
    Referrer,
)
from chalicelib.credits.referrals.rules import (
    InvalidTransition,
    NoProgramme,
    ReferralNotFound,
    ReferrerNotFound,
)
from chalicelib.credits.settings import settings
from clientela import problems
from clientela.api import Call, Reply, Routes, if_match_versions
from clientela.cursor import decode_cursor, encode_cursor
from clientela.ids import is_id
from clientela.problems import FieldError, Problem
from clientela.secrets import secret_value

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
    errors=(412, 422, 428),
    headers=("If-Match",),
    response_headers=("ETag",),
)
def put_programme(call: Call) -> Reply:
    """Rewards, their currency and expiry, the hold window and the per-referrer monthly cap.
    Versioned like `/credits/settings`: the first write needs no If-Match; after it, a change
    names the version it read (428 without it, 412 if stale)."""
    body: ProgrammeSettings = call.body
    try:
        programme = usecases.set_programme(
            call.store_id,
            referrer_reward=body.referrer_reward,
            friend_reward=body.friend_reward,
            currency=body.currency,
            expiry_days=body.expiry_days,
            hold_window_days=body.hold_window_days,
            monthly_cap=body.monthly_cap,
            share_base_url=str(body.share_base_url),
            versions=if_match_versions(call.header("If-Match")),
        )
    except PreconditionRequired:
        raise Problem(
            428,
            "precondition-required",
            "If-Match is required",
            "Read the programme and send its ETag in If-Match",
        ) from None
    except StaleVersion as error:
        raise Problem(
            412,
            "precondition-failed",
            "The programme has changed",
            "Read it again and apply your change to the current version",
            extra={"current_version": error.current},
            headers={"ETag": f'"{error.current}"'},
        ) from None
    return Reply(200, Programme.of(programme), {"ETag": f'"{programme.version}"'})


@routes.route(
    "/referrals/programme",
    "GET",
    summary="Get the refer-a-friend programme",
    response_headers=("ETag",),
    response=Programme,
    errors=(409,),
)
def get_programme(call: Call) -> Reply:
    """409 `no-referral-programme` until the store sets one up: the path names no id, so the
    programme's absence is a state of the store, not a missing resource (404 is for ids)."""
    try:
        programme = usecases.get_programme(call.store_id)
    except NoProgramme:
        raise _no_programme() from None
    return Reply(200, Programme.of(programme), {"ETag": f'"{programme.version}"'})


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
    creates="customer_id",
)
def enrol_referrer(call: Call) -> Reply:
    """Gives the customer a code and a share link (201); enrolling again answers them (200).
    409 `no-referral-programme` while the store has none."""
    body: NewReferrer = call.body
    require_customer(call.store_id, body.customer_id)
    try:
        ip = str(body.ip) if body.ip else None
        referrer, new = usecases.enrol(call.store_id, body.customer_id, ip)
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


def _cursor_key() -> str:
    # A key of the credits API's own: the token signing key stays with the authorizers.
    return secret_value(settings().cursor_key_secret)


@routes.route(
    "/referrals",
    "POST",
    summary="Sign up a friend with a referrer's code",
    body=NewReferral,
    response=Referral,
    status=201,
    also={200: Referral},
    errors=(409, 422),
    response_headers=("Location",),
    creates="referral_id",
)
def create_referral(call: Call) -> Reply:
    """The storefront calls this right after `POST /customers` when the sign-up carried a code
    (`?ref=` of the share link). 201 with the referral, `pending` or `flagged` for review
    (similar e-mail, same IP as the referrer); the same sign-up again answers it (200). 409
    `referral-refused` with `reason`: `self-referral`, `existing-customer`, `already-referred`."""
    body: NewReferral = call.body
    require_customer(call.store_id, body.customer_id)
    try:
        referral, new = usecases.refer(
            call.store_id,
            code=body.code,
            friend_id=body.customer_id,
            ip=str(body.ip) if body.ip else None,
        )
    except usecases.UnknownCode:
        raise problems.invalid([FieldError("code", "No referrer with this code")]) from None
    except NoProgramme:
        raise _no_programme() from None
    except usecases.SignUpRefused as refused:
        raise Problem(
            409,
            "referral-refused",
            "The sign-up makes no referral",
            f"Refused: {refused.reason.value}",
            extra={"reason": refused.reason.value},
        ) from None
    return Reply(
        201 if new else 200, Referral.of(referral), {"Location": f"/referrals/{referral.id}"}
    )


@routes.route(
    "/referrals",
    "GET",
    summary="List referrals (a referrer's, or the store's by status)",
    query=ReferralQuery,
    response=ReferralPage,
)
def list_referrals(call: Call) -> Reply:
    """Newest first. With `referrer_id`: the referrer's, optionally of one `status` (a page may
    then hold fewer than `limit`: follow `next_cursor` until it is null). With `status` alone:
    the store's referrals in that status, e.g. `flagged`, the review queue."""
    query: ReferralQuery = call.query
    if query.referrer_id is None and query.status is None:
        # Named here, not in the model: a model-wide error would name no parameter.
        reason = "Give referrer_id, status or both"
        raise problems.invalid([FieldError("referrer_id", reason), FieldError("status", reason)])
    scope = f"referrals:{query.referrer_id or ''}:{query.status or ''}"
    after = None
    if query.cursor:
        key = _cursor_key()
        position = decode_cursor(query.cursor, store_id=call.store_id, scope=scope, key=key)
        after = str(position.get("after", ""))
    page, last = usecases.referrals_of(
        call.store_id, query.referrer_id, status=query.status, limit=query.limit, after=after
    )
    items = [Referral.of(referral) for referral in page]
    cursor = (
        encode_cursor({"after": last}, store_id=call.store_id, scope=scope, key=_cursor_key())
        if last
        else None
    )
    return Reply(200, ReferralPage(items=items, next_cursor=cursor))


def _referral_step(call: Call, referral_id: str, step: str) -> Reply:
    try:
        if not is_id(referral_id):
            raise ReferralNotFound
        referral = (
            usecases.approve(call.store_id, referral_id)
            if step == "approve"
            else usecases.void(call.store_id, referral_id)
        )
    except ReferralNotFound:
        raise problems.not_found("referral") from None
    except InvalidTransition as invalid:
        raise Problem(
            409,
            "referral-status-conflict",
            "The referral is not in a status that allows this",
            f"The referral is {invalid.current.value}",
        ) from None
    return Reply(200, Referral.of(referral))


@routes.route(
    "/referrals/{referral_id}",
    "GET",
    summary="Get a referral",
    response=Referral,
    errors=(404,),
)
def get_referral(call: Call, referral_id: str) -> Reply:
    """The referral with its status and the reason for it."""
    try:
        if not is_id(referral_id):
            raise ReferralNotFound
        referral = usecases.get_referral(call.store_id, referral_id)
    except ReferralNotFound:
        raise problems.not_found("referral") from None
    return Reply(200, Referral.of(referral))


@routes.route(
    "/referrals/{referral_id}/approval",
    "POST",
    summary="Approve a flagged referral",
    response=Referral,
    errors=(404, 409),
)
def approve_referral(call: Call, referral_id: str) -> Reply:
    """A flagged referral goes on: `qualified` if the friend's first order came (its rewards
    fall due after the hold window, past the monthly cap), else `pending`. 409 unless flagged."""
    return _referral_step(call, referral_id, "approve")


@routes.route(
    "/referrals/{referral_id}/voiding",
    "POST",
    summary="Void a referral",
    response=Referral,
    errors=(404, 409),
)
def void_referral(call: Call, referral_id: str) -> Reply:
    """Voids a referral not yet rewarded (409 once rewarded or voided)."""
    return _referral_step(call, referral_id, "void")
