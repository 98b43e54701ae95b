"""Problem details for HTTP APIs (RFC 9457): the one shape every 4xx and 5xx answer takes.

Which status a refusal gets is one rule, the same in every service:

- 400: the request cannot be read at all (no body where one is needed, a body that is not
  UTF-8 JSON). Nothing in it can be named.
- 404: the resource the path names is not in this store (`NotFound`).
- 422: a field of the body, a query parameter or a header is refused, named with a JSON
  pointer: a value that does not parse (a malformed date, a foreign cursor), breaks a rule, or
  refers to something this store does not have (`UnknownReference`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Response
from pydantic import ValidationError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://clientela.dev/problems/"


@dataclass(frozen=True)
class FieldError:
    """One bad input field: where it is and why it was refused."""

    field: str
    reason: str
    # A stable word for the kind of refusal ("missing", "string_too_long", ...: pydantic's error
    # types where pydantic refused it): clients such as the console show it in the owner's
    # language; `reason` is the English sentence.
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        pointer = "/" + self.field.replace(".", "/") if self.field else ""
        return {"field": self.field, "pointer": pointer, "reason": self.reason, "code": self.code}


@dataclass
class Problem(Exception):
    status: int
    slug: str
    title: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            doc["detail"] = self.detail
        if self.errors:
            doc["errors"] = [error.as_dict() for error in self.errors]
        doc.update(self.extra)
        return doc

    def to_response(self) -> Response:
        return Response(
            body=json.dumps(self.body(), ensure_ascii=False),
            status_code=self.status,
            headers={"Content-Type": PROBLEM_CONTENT_TYPE, **self.headers},
        )


class NotFound(Exception):
    """The resource named in the path is not in this store: 404.

    Only for what the path names: an id given in a body or a query is an `UnknownReference`.
    """

    what = "resource"


class UnknownReference(Exception):
    """Ids given in the body or query (at `fields`, dotted) that name nothing in this store: 422.

    `within("orders")` places the fields of a use case's input inside the request body.
    """

    def __init__(self, what: str, *fields: str) -> None:
        super().__init__(what, *fields)
        self.what = what
        self.fields = fields

    def within(self, prefix: str) -> UnknownReference:
        return UnknownReference(self.what, *(f"{prefix}.{field}" for field in self.fields))

    def problem(self) -> Problem:
        reason = f"No {self.what} with this id in this store"
        return invalid([FieldError(field, reason) for field in self.fields], reason)


def bad_request(detail: str, errors: list[FieldError] | None = None) -> Problem:
    return Problem(400, "bad-request", "The request is malformed", detail, errors or [])


def invalid(errors: list[FieldError], detail: str = "Some fields are not valid") -> Problem:
    return Problem(422, "validation-error", "The request has invalid fields", detail, errors)


def not_found(what: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"No {what} with that id in this store")


def problem_of(error: NotFound | UnknownReference) -> Problem:
    """The answer to a shared domain error, wherever a service raises it."""
    if isinstance(error, UnknownReference):
        return error.problem()
    return not_found(error.what)


def precondition_failed(detail: str) -> Problem:
    return Problem(412, "precondition-failed", "The resource has changed", detail)


def too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "Body too large", f"At most {limit} bytes")


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail)


class Refused(ValueError):
    """Raised by a model-level validator (one that weighs several fields) to refuse one of them
    by name: pydantic would otherwise place the error at the model itself, with no field for a
    client to point at and only `value_error` as the code."""

    def __init__(self, field: str, reason: str, code: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.code = code


def from_validation_error(exc: ValidationError, *, location: str = "") -> Problem:
    """Name each bad field and why, in the words pydantic gives, without echoing input values."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        parts = [str(part) for part in err["loc"] if part != "__root__"]
        reason = str(err["msg"])
        code = err["type"]
        refused = (err.get("ctx") or {}).get("error")
        if isinstance(refused, Refused):
            parts.append(refused.field)
            reason, code = refused.reason, refused.code
        loc = ".".join(parts)
        if location:
            loc = f"{location}.{loc}" if loc else location
        if code == "extra_forbidden":
            reason = "Unknown field"
        errors.append(FieldError(loc, reason, code))
    return invalid(errors)
