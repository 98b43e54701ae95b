"""Routes of /customers and /tags: profiles, consent, search, counts. Each parses, calls a use
case, answers."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from chalicelib.customers.errors import CustomerError, CustomerNotFound
from chalicelib.customers.http import (
    etag,
    precondition,
    problem_for,
)
from chalicelib.customers.orders import usecases as order_usecases
from chalicelib.customers.privacy import usecases as privacy
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.models import (
    Bookings,
    ConsentChange,
    Customer,
    CustomerCreate,
    CustomerPatch,
    NextBooking,
    SegmentRef,
    TagCount,
    TagList,
)
from chalicelib.customers.profiles.rules import Consent
from chalicelib.customers.segments import usecases as segment_usecases
from clientela import problems
from clientela.api import Call, Reply, Routes, idempotency_key

PROBLEMS_OF_CUSTOMER = (404, 412, 409, 422)
CREATE_ERRORS = (CustomerError, IdempotencyValidationError, IdempotencyAlreadyInProgressError)


def customer_reply(customer: domain.Customer, status: int = 200) -> Reply:
    """One customer's profile, with the segments it belongs to, its bookings to come, and its
    version as ETag."""
    segments = [
        SegmentRef(id=ref.id, name=ref.name)
        for ref in segment_usecases.segments_of(customer.store_id, customer)
    ]
    profile = Customer.of(customer, segments=segments, bookings=_bookings(customer))
    return Reply(status, profile, {"ETag": etag(customer.version)})


def _bookings(customer: domain.Customer) -> Bookings:
    """One Query of the index `by_schedule`; none for a customer without counted orders (a
    booking to come is not cancelled, so it counts)."""
    if customer.orders_count == 0:
        return Bookings(upcoming=0, next=None)
    schedule = order_usecases.booking_schedule(customer.store_id, customer.id)
    coming = schedule.next
    if coming is None or coming.booking is None:
        return Bookings(upcoming=schedule.upcoming, next=None)
    return Bookings(
        upcoming=schedule.upcoming,
        next=NextBooking(
            order_id=coming.order_id,
            service_id=coming.booking.service_id,
            service_name=coming.booking.service_name,
            starts_at=coming.booking.starts_at,
            ends_at=coming.booking.ends_at,
        ),
    )


routes = Routes()
register = routes.register


@routes.route(
    "/customers",
    "POST",
    summary="Create a customer",
    body=CustomerCreate,
    response=Customer,
    status=201,
    errors=(409, 413, 422),
    headers=("Idempotency-Key",),
    response_headers=("ETag", "Location"),
    creates="customer_id",
)
def create_customer(call: Call) -> Reply:
    """An e-mail or a phone is required; e-mails are unique per store.

    With an `Idempotency-Key`, a retry with the same body answers as the first request did
    (the customer as it is now); the same key with another body is refused (422).
    Read-only fields (consent aside, which may be given as the initial record) get 422.
    """
    body: CustomerCreate = call.body
    key = idempotency_key(call.header("Idempotency-Key"))
    if privacy.profile_is_erased(call.store_id, body.profile()):
        raise privacy.erased_problem()
    try:
        if key is None:
            customer = usecases.create_customer(
                call.store_id,
                body.profile(),
                consents=body.consents(),
                correlation_id=call.request_id,
            )
        else:
            result = usecases.create_customer_once(
                request={
                    "store_id": call.store_id,
                    "idempotency_key": key,
                    "body": body.model_dump(mode="json", exclude_unset=True),
                    "correlation_id": call.request_id,
                }
            )
            customer = usecases.get_customer(call.store_id, result["id"])
    except CustomerNotFound:
        raise problems.Problem(
            409,
            "created-then-deleted",
            "Customer deleted since",
            "The customer this Idempotency-Key created has been deleted since",
        ) from None
    except CREATE_ERRORS as error:
        raise problem_for(error) from None
    reply = customer_reply(customer, 201)
    reply.headers["Location"] = f"/customers/{customer.id}"
    return reply


@routes.route(
    "/customers/{customer_id}",
    "GET",
    summary="Get a customer's profile",
    response=Customer,
    errors=(404,),
    response_headers=("ETag",),
)
def get_customer(call: Call, customer_id: str) -> Reply:
    """The 360° profile, with the segments the customer belongs to."""
    try:
        customer = usecases.get_customer(call.store_id, customer_id)
    except CustomerError as error:
        raise problem_for(error) from None
    return customer_reply(customer)


@routes.route(
    "/customers/{customer_id}",
    "PATCH",
    summary="Change a customer (JSON merge patch)",
    body=CustomerPatch,
    response=Customer,
    errors=(*PROBLEMS_OF_CUSTOMER, 413),
    headers=("If-Match",),
    response_headers=("ETag",),
)
def update_customer(call: Call, customer_id: str) -> Reply:
    """Fields given are set, `null` clears one. With `If-Match`, a stale version gets 412.

    Consent changes only through POST /customers/{id}/consent; read-only fields get 422.
    """
    patch: CustomerPatch = call.body
    try:
        customer = usecases.update_customer(
            call.store_id,
            customer_id,
            patch.changes(),
            precondition(call.header("If-Match")),
            correlation_id=call.request_id,
        )
    except CustomerError as error:
        raise problem_for(error) from None
    return customer_reply(customer)


@routes.route(
    "/customers/{customer_id}/consent",
    "POST",
    summary="Record a consent change (e-mail or SMS)",
    body=ConsentChange,
    response=Customer,
    errors=(404, 422),
    response_headers=("ETag",),
)
def change_consent(call: Call, customer_id: str) -> Reply:
    """Subscribe, unsubscribe or mark pending, with the level and where it came from.

    The record keeps when it changed; each change appears in the customer's timeline.
    Repeating the current state changes nothing.
    """
    change: ConsentChange = call.body
    try:
        customer = usecases.set_consent(
            call.store_id,
            customer_id,
            change.channel,
            Consent(
                state=change.state,
                opt_in_level=change.opt_in_level
                or ("single" if change.state == "subscribed" else None),
                source=change.source,
            ),
            correlation_id=call.request_id,
        )
    except CustomerError as error:
        raise problem_for(error) from None
    return customer_reply(customer)


@routes.route(
    "/customers/{customer_id}",
    "DELETE",
    summary="Delete a customer",
    status=204,
    errors=(404, 412),
    headers=("If-Match",),
)
def delete_customer(call: Call, customer_id: str) -> Reply:
    try:
        usecases.delete_customer(call.store_id, customer_id, precondition(call.header("If-Match")))
    except CustomerError as error:
        raise problem_for(error) from None
    return Reply(204)


@routes.route("/tags", "GET", summary="The store's tags with counts", response=TagList)
def list_tags(call: Call) -> Reply:
    """Every tag in use, by name, with how many customers carry it (one Query)."""
    counts = usecases.tag_counts(call.store_id)
    return Reply(200, TagList(items=[TagCount(tag=t, customers=n) for t, n in counts]))
