"""Routes of coupons for one customer. Each parses, calls a use case, answers.

A customer's coupons are `POST` / `GET /customers/{customer_id}/coupons` (the edge sends
`/customers/*/coupons*` to credits, infra/edge.yaml); `POST /coupons` with the `customer_id`
in the body and `GET /coupons?customer_id=` stay, for callers that name the customer in the
body (the storefront, the demo seed).
"""

from __future__ import annotations

from chalicelib.credits.coupons import usecases
from chalicelib.credits.coupons.models import (
    Coupon,
    CouponList,
    CouponQuery,
    CouponTerms,
    NewCoupon,
    NewRedemption,
    Redemption,
)
from chalicelib.credits.coupons.rules import (
    CodeTaken,
    CouponNotFound,
    RedemptionNotFound,
    Refusal,
    normalise_code,
)
from chalicelib.credits.coupons.store import UsedUp
from chalicelib.credits.ledger.routes import require_customer
from chalicelib.credits.wallets.usecases import is_customer
from clientela import problems
from clientela.api import Call, Reply, Routes
from clientela.problems import FieldError, Problem

routes = Routes()
register = routes.register


def _code(text: str) -> str:
    try:
        return normalise_code(text)
    except ValueError:
        raise problems.not_found("coupon") from None


def _refused(refusal: Refusal) -> Problem:
    if refusal.slug == "validation-error":
        return problems.invalid([FieldError(refusal.field, refusal.reason)])
    return Problem(
        422,
        refusal.slug,
        "The coupon does not apply to this order",
        refusal.reason,
        [FieldError(refusal.field, refusal.reason)],
    )


@routes.route(
    "/coupons",
    "POST",
    summary="Make a coupon for one customer",
    body=NewCoupon,
    response=Coupon,
    status=201,
    errors=(409, 422),
    response_headers=("Location",),
    creates="code",
)
def create_coupon(call: Call) -> Reply:
    """A percentage or fixed amount off, bound to the customer; the code is generated unless
    one is chosen (409 `coupon-code-taken` if the store has it already)."""
    body: NewCoupon = call.body
    require_customer(call.store_id, body.customer_id)
    return _create(call.store_id, body.customer_id, body)


@routes.route(
    "/customers/{customer_id}/coupons",
    "POST",
    summary="Make a coupon for the customer",
    body=CouponTerms,
    response=Coupon,
    status=201,
    errors=(404, 409, 422),
    response_headers=("Location",),
    creates="code",
)
def create_customer_coupon(call: Call, customer_id: str) -> Reply:
    """As `POST /coupons`, for the customer in the path (404 if the store has no such
    customer)."""
    if not is_customer(call.store_id, customer_id):
        raise problems.not_found("customer")
    return _create(call.store_id, customer_id, call.body)


@routes.route(
    "/customers/{customer_id}/coupons",
    "GET",
    summary="List the customer's coupons",
    response=CouponList,
    errors=(404,),
)
def list_customer_coupons(call: Call, customer_id: str) -> Reply:
    """The customer's coupons, newest first (404 if the store has no such customer)."""
    if not is_customer(call.store_id, customer_id):
        raise problems.not_found("customer")
    coupons = usecases.coupons_of(call.store_id, customer_id)
    return Reply(200, CouponList(items=[Coupon.of(coupon) for coupon in coupons]))


def _create(store_id: str, customer_id: str, body: CouponTerms) -> Reply:
    try:
        coupon = usecases.create_coupon(
            store_id,
            customer_id=customer_id,
            code=body.code,
            percentage=body.percentage,
            amount=body.amount,
            currency=body.currency,
            minimum_order=body.minimum_order,
            expires_at=body.expires_at,
            usage_limit=body.usage_limit,
        )
    except Refusal as refusal:
        raise _refused(refusal) from None
    except CodeTaken:
        raise Problem(
            409,
            "coupon-code-taken",
            "The code is taken",
            "The store has a coupon with this code already",
            [FieldError("code", "Taken in this store")],
        ) from None
    return Reply(201, Coupon.of(coupon), {"Location": f"/coupons/{coupon.code}"})


@routes.route(
    "/coupons",
    "GET",
    summary="List a customer's coupons",
    query=CouponQuery,
    response=CouponList,
)
def list_coupons(call: Call) -> Reply:
    """The customer's coupons, newest first."""
    query: CouponQuery = call.query
    coupons = usecases.coupons_of(call.store_id, query.customer_id)
    return Reply(200, CouponList(items=[Coupon.of(coupon) for coupon in coupons]))


@routes.route(
    "/coupons/{code}",
    "GET",
    summary="Get a coupon",
    response=Coupon,
    errors=(404,),
)
def get_coupon(call: Call, code: str) -> Reply:
    """Codes are case-insensitive."""
    try:
        coupon = usecases.get_coupon(call.store_id, _code(code))
    except CouponNotFound:
        raise problems.not_found("coupon") from None
    return Reply(200, Coupon.of(coupon))


@routes.route(
    "/coupons/{code}/redemptions",
    "POST",
    summary="Redeem a coupon on an order",
    body=NewRedemption,
    response=Redemption,
    status=201,
    also={200: Redemption},
    errors=(404, 409, 422),
)
def redeem_coupon(call: Call, code: str) -> Reply:
    """For the storefront: checks the customer, expiry, minimum and a use left in one atomic
    step and answers the discount (201). The same order again answers the first redemption
    (200); with another customer, subtotal or currency, 409 `redemption-conflict`. No use left:
    409 `coupon-used-up`; does not apply: 422 `coupon-not-applicable` or `coupon-expired`."""
    body: NewRedemption = call.body
    try:
        redemption, new = usecases.redeem(
            call.store_id,
            _code(code),
            order_id=body.order_id,
            customer_id=body.customer_id,
            subtotal=body.subtotal,
            currency=body.currency,
        )
    except CouponNotFound:
        raise problems.not_found("coupon") from None
    except Refusal as refusal:
        raise _refused(refusal) from None
    except UsedUp:
        raise Problem(
            409, "coupon-used-up", "The coupon is used up", "The coupon has no use left"
        ) from None
    except usecases.RedemptionConflict:
        raise Problem(
            409,
            "redemption-conflict",
            "The order redeemed this coupon already",
            "The order redeemed this coupon with another customer, subtotal or currency",
            [FieldError("order_id", "Redeemed already with other values")],
        ) from None
    return Reply(201 if new else 200, Redemption.of(redemption))


@routes.route(
    "/coupons/{code}/redemptions/{order_id}",
    "DELETE",
    summary="Revert a redemption",
    response=Redemption,
    errors=(404,),
)
def revert_redemption(call: Call, code: str, order_id: str) -> Reply:
    """Gives the use back (the order was cancelled). Reverting twice answers the same."""
    try:
        redemption = usecases.revert(call.store_id, _code(code), order_id)
    except RedemptionNotFound:
        raise problems.not_found("redemption") from None
    return Reply(200, Redemption.of(redemption))
