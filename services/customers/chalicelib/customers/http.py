"""HTTP words for the customers domain: errors to problems, If-Match, ETags, cursors."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from chalicelib.customers.domain import (
    ContactRequired,
    CustomerNotFound,
    EmailAlreadyUsed,
    VersionMismatch,
)
from chalicelib.customers.usecases import Precondition
from clientela import problems
from clientela.auth import signing_key
from clientela.cursor import decode_cursor, encode_cursor
from clientela.problems import FieldError, Problem

LIST_SCOPE = "customers:list:v1"


def problem_for(error: Exception) -> Problem:
    if isinstance(error, CustomerNotFound):
        return problems.not_found("customer")
    if isinstance(error, EmailAlreadyUsed):
        return Problem(
            409,
            "email-taken",
            "E-mail already used",
            "Another customer of this store has this e-mail",
            [FieldError("email", "Already used by another customer")],
            extra={"existing_customer_id": error.existing_id},
        )
    if isinstance(error, VersionMismatch):
        extra = {} if error.current_version is None else {"current_version": error.current_version}
        headers = {} if error.current_version is None else {"ETag": etag(error.current_version)}
        return Problem(
            412,
            "precondition-failed",
            "The customer has changed",
            "Read it again and apply your change to the current version",
            extra=extra,
            headers=headers,
        )
    if isinstance(error, ContactRequired):
        return problems.invalid(
            [
                FieldError("email", "email or phone is required"),
                FieldError("phone", "email or phone is required"),
            ]
        )
    if isinstance(error, IdempotencyValidationError):
        return Problem(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was already used with a different body",
            [FieldError("Idempotency-Key", "Used before with another body")],
        )
    if isinstance(error, IdempotencyAlreadyInProgressError):
        return Problem(
            409,
            "request-in-progress",
            "Request in progress",
            "A request with this Idempotency-Key is still running; retry shortly",
            headers={"Retry-After": "1"},
        )
    raise error


def etag(version: int) -> str:
    return f'"{version}"'


def precondition(if_match: str | None) -> Precondition:
    """Parses If-Match: `"3"`, `W/"3"`, `3`, a list of them, or `*`."""
    if if_match is None:
        return Precondition()
    versions = set()
    for part in if_match.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag == "*":
            return Precondition()
        if not tag.isdigit() or len(tag) > 18:
            raise problems.bad_request(
                "If-Match must carry the version (or ETag) you last read",
                [FieldError("If-Match", "Not a version or ETag of this API")],
            )
        versions.add(int(tag))
    return Precondition(frozenset(versions))


def idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise problems.bad_request(
            "Idempotency-Key must be 1-255 printable characters",
            [FieldError("Idempotency-Key", "Invalid key")],
        )
    return key


def next_cursor(store_id: str, after_id: str | None) -> str | None:
    if after_id is None:
        return None
    return encode_cursor(
        {"after": after_id}, store_id=store_id, scope=LIST_SCOPE, key=signing_key()
    )


def cursor_position(store_id: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    position = decode_cursor(cursor, store_id=store_id, scope=LIST_SCOPE, key=signing_key())
    after = position.get("after")
    if not isinstance(after, str):
        raise problems.bad_request("Invalid cursor", [FieldError("cursor", "Invalid cursor")])
    return after
