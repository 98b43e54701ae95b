"""Customers service: HTTP routes and event handlers. Each one parses, calls a use case, answers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from chalice.app import Chalice, DynamoDBEvent

from chalicelib.customers import usecases
from chalicelib.customers.domain import CustomerError
from chalicelib.customers.http import (
    cursor_position,
    etag,
    idempotency_key,
    next_cursor,
    precondition,
    problem_for,
)
from chalicelib.customers.models import (
    Customer,
    CustomerCreate,
    CustomerPage,
    CustomerPatch,
    ListQuery,
)
from chalicelib.customers.publishing import publish_changes
from chalicelib.customers.settings import settings
from clientela.api import Call, Reply, Service
from clientela.observability import install, observability

app = Chalice(app_name="clientela-customers")
obs = observability("customers")
install(app, obs)
service = Service(app, "customers", obs)
PROBLEMS_OF_CUSTOMER = (404, 412, 409, 422)
CREATE_ERRORS = (CustomerError, IdempotencyValidationError, IdempotencyAlreadyInProgressError)


def _customer_reply(customer: Any, status: int = 200) -> Reply:
    return Reply(status, Customer.of(customer), {"ETag": etag(customer.version)})


@service.route(
    "/customers",
    "POST",
    summary="Create a customer",
    body=CustomerCreate,
    response=Customer,
    status=201,
    errors=(409, 413, 422),
    headers=("Idempotency-Key",),
    response_headers=("ETag", "Location"),
)
def create_customer(call: Call) -> Reply:
    """An e-mail or a phone is required; e-mails are unique per store.

    With an `Idempotency-Key`, a retry with the same body answers as the first request did; the
    same key with another body is refused (422).
    """
    profile = call.body.model_dump(exclude_unset=False)
    key = idempotency_key(call.header("Idempotency-Key"))
    try:
        if key is None:
            customer = usecases.create_customer(
                call.store_id, profile, correlation_id=call.request_id
            )
        else:
            result = usecases.create_customer_once(
                request={
                    "store_id": call.store_id,
                    "idempotency_key": key,
                    "profile": profile,
                    "correlation_id": call.request_id,
                }
            )
            created = Customer.model_validate(result)
            return Reply(
                201,
                created,
                {"ETag": etag(created.version), "Location": f"/customers/{created.id}"},
            )
    except CREATE_ERRORS as error:
        raise problem_for(error) from None
    reply = _customer_reply(customer, 201)
    reply.headers["Location"] = f"/customers/{customer.id}"
    return reply


@service.route(
    "/customers",
    "GET",
    summary="List customers, newest first",
    query=ListQuery,
    response=CustomerPage,
)
def list_customers(call: Call) -> Reply:
    query: ListQuery = call.query
    after = cursor_position(call.store_id, query.cursor)
    customers, last = usecases.list_customers(call.store_id, limit=query.limit, after_id=after)
    page = CustomerPage(
        items=[Customer.of(c) for c in customers], next_cursor=next_cursor(call.store_id, last)
    )
    return Reply(200, page)


@service.route(
    "/customers/{customer_id}",
    "GET",
    summary="Get a customer",
    response=Customer,
    errors=(404,),
    response_headers=("ETag",),
)
def get_customer(call: Call, customer_id: str) -> Reply:
    try:
        return _customer_reply(usecases.get_customer(call.store_id, customer_id))
    except CustomerError as error:
        raise problem_for(error) from None


@service.route(
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
    """Fields given are set, `null` clears one. With `If-Match`, a stale version gets 412."""
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
    return _customer_reply(customer)


@service.route(
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


@app.on_dynamodb_record(
    stream_arn=settings().table_stream_arn, batch_size=100, starting_position="TRIM_HORIZON"
)
@obs.tracer.capture_method
def publish_customer_changes(event: DynamoDBEvent) -> dict[str, Any]:
    """Table stream -> customer.created / customer.updated / customer.deleted on the bus."""
    return publish_changes(event.to_dict()["Records"])
