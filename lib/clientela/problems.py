"""Problem details for HTTP APIs (RFC 9457): the one shape every 4xx and 5xx answer takes."""

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

    def as_dict(self) -> dict[str, str]:
        pointer = "/" + self.field.replace(".", "/") if self.field else ""
        return {"field": self.field, "pointer": pointer, "reason": self.reason}


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


def bad_request(detail: str, errors: list[FieldError] | None = None) -> Problem:
    return Problem(400, "bad-request", "The request is malformed", detail, errors or [])


def invalid(errors: list[FieldError], detail: str = "Some fields are not valid") -> Problem:
    return Problem(422, "validation-error", "The request has invalid fields", detail, errors)


def not_found(what: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"No {what} with that id in this store")


def precondition_failed(detail: str) -> Problem:
    return Problem(412, "precondition-failed", "The resource has changed", detail)


def too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "Body too large", f"At most {limit} bytes")


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail)


def from_validation_error(
    exc: ValidationError, *, status: int = 422, location: str = ""
) -> Problem:
    """Name each bad field and why, in the words pydantic gives, without echoing input values."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in err["loc"] if part != "__root__")
        if location:
            loc = f"{location}.{loc}" if loc else location
        reason = str(err["msg"])
        if err["type"] == "extra_forbidden":
            reason = "Unknown field"
        errors.append(FieldError(loc, reason))
    if status == 400:
        return bad_request("Some parameters are not valid", errors)
    return invalid(errors)
