"""HTTP words for the customers domain: errors to problems, If-Match, ETags, cursors."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from chalicelib.customers.errors import (
    ContactRequired,
    CustomerNotFound,
    EmailAlreadyUsed,
    InvalidField,
    VersionMismatch,
    WriteConflict,
)
from chalicelib.customers.merge.rules import MergeRefused
from chalicelib.customers.profiles.store import TooManyWrites
from chalicelib.customers.profiles.usecases import Precondition
from chalicelib.customers.settings import settings
from clientela import problems
from clientela.api import if_match_versions
from clientela.cursor import decode_cursor, encode_cursor
from clientela.problems import FieldError, Problem
from clientela.secrets import secret_value

LIST_SCOPE = "customers:list:v2"


@functools.singledispatch
def problem_for(error: Exception) -> Problem:
    """The problem document a domain or idempotency error is answered with."""
    raise error


@problem_for.register
def _(_error: CustomerNotFound) -> Problem:
    return problems.not_found("customer")


@problem_for.register
def _(error: EmailAlreadyUsed) -> Problem:
    return Problem(
        409,
        "email-taken",
        "E-mail already used",
        "Another customer of this store has this e-mail",
        [FieldError("email", "Already used by another customer")],
        extra={"existing_customer_id": error.existing_id},
    )


@problem_for.register
def _(error: VersionMismatch) -> Problem:
    known = error.current_version is not None
    return Problem(
        412,
        "precondition-failed",
        "The customer has changed",
        "Read it again and apply your change to the current version",
        extra={"current_version": error.current_version} if known else {},
        headers={"ETag": etag(error.current_version)} if error.current_version else {},
    )


@problem_for.register
def _(error: InvalidField) -> Problem:
    return problems.invalid([FieldError(error.field, error.reason)])


@problem_for.register
def _(error: MergeRefused) -> Problem:
    return problems.invalid([FieldError(error.field, error.reason)])


@problem_for.register
def _(_error: TooManyWrites) -> Problem:
    return problems.invalid(
        [FieldError("merge_ids", "too many writes for one merge: merge fewer profiles at once")]
    )


@problem_for.register
def _(_error: ContactRequired) -> Problem:
    reason = "email or phone is required"
    return problems.invalid([FieldError("email", reason), FieldError("phone", reason)])


@problem_for.register
def _(_error: WriteConflict) -> Problem:
    return Problem(
        503,
        "write-conflict",
        "Busy",
        "Other changes to this customer are landing at the same moment; retry shortly",
        headers={"Retry-After": "1"},
    )


@problem_for.register
def _(_error: IdempotencyValidationError) -> Problem:
    return Problem(
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        "This Idempotency-Key was already used with a different body",
        [FieldError("Idempotency-Key", "Used before with another body")],
    )


@problem_for.register
def _(_error: IdempotencyAlreadyInProgressError) -> Problem:
    return Problem(
        409,
        "request-in-progress",
        "Request in progress",
        "A request with this Idempotency-Key is still running; retry shortly",
        headers={"Retry-After": "1"},
    )


def etag(version: int) -> str:
    return f'"{version}"'


def precondition(if_match: str | None) -> Precondition:
    """Parses If-Match (`clientela.api.if_match_versions`); `*` or none: any version."""
    return Precondition(if_match_versions(if_match) or None)


def _cursor_key() -> str:
    # A key of the customers API's own: the token signing key stays with the authorizers.
    return secret_value(settings().cursor_key_secret)


def listing_scope(name: str, query: dict[str, Any]) -> str:
    """A cursor scope bound to one listing and its query: a cursor cannot move between them."""
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()
    return f"{name}:{digest[:32]}"


def next_cursor(store_id: str, position: dict[str, Any] | None, scope: str) -> str | None:
    if position is None:
        return None
    return encode_cursor(position, store_id=store_id, scope=scope, key=_cursor_key())


def cursor_position(store_id: str, cursor: str | None, scope: str) -> dict[str, Any] | None:
    """The position a cursor of this listing holds (422 naming `cursor` for any other)."""
    if cursor is None:
        return None
    return decode_cursor(cursor, store_id=store_id, scope=scope, key=_cursor_key())
