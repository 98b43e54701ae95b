"""API Gateway's own error responses (gateway responses), rendered from the infra template.

On AWS these answers come from API Gateway, not from a function: a bad token, a route that does
not exist, a body too large. Their bodies and statuses are defined once, in
`infra/fragments/service-api.yaml` (`GatewayResponses`), and read from there, so the local
gateway cannot drift from what AWS answers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clientela_local import cfn
from clientela_local.apps import REPO_ROOT

log = logging.getLogger(__name__)

TEMPLATE = REPO_ROOT / "infra" / "fragments" / "service-api.yaml"

# Status and message API Gateway uses for a response type when nothing customises them.
AWS_DEFAULTS: dict[str, tuple[int, str | None]] = {
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "AUTHORIZER_FAILURE": (500, None),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    # A function that crashes or answers something API Gateway cannot use.
    "DEFAULT_5XX": (502, "Internal server error"),
    "DEFAULT_4XX": (400, "Bad Request"),
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str | list[str]]
    body: bytes


def problem_answer(status: int, slug: str, title: str, detail: str) -> Answer:
    """A problem document (RFC 9457) the edge answers by itself, shaped like clientela.problems."""
    payload = {
        "type": f"https://clientela.dev/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body = json.dumps(payload).encode()
    return Answer(status, {"Content-Type": "application/problem+json"}, body)


class GatewayResponses:
    def __init__(self, definitions: dict[str, Any]) -> None:
        self._definitions = definitions

    @classmethod
    def from_template(cls, path: Path = TEMPLATE) -> GatewayResponses:
        if not path.is_file():
            log.warning("%s not found: gateway errors use API Gateway's plain defaults", path)
            return cls({})
        api = cfn.load(path).get("Resources", {}).get("RestAPI", {})
        return cls(api.get("Properties", {}).get("GatewayResponses", {}))

    def render(self, response_type: str, message: str | None = None) -> Answer:
        """The answer API Gateway gives for `response_type` (message: `$context.error.message`)."""
        default_status, default_message = AWS_DEFAULTS[response_type]
        if message is None:
            message = default_message
        family = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        definition = self._definitions.get(response_type) or self._definitions.get(family)
        if not definition:
            body = json.dumps({"message": message}).encode()
            return Answer(default_status, {"Content-Type": "application/json"}, body)
        status = int(definition.get("StatusCode", default_status))
        headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
        for name, value in definition.get("ResponseParameters", {}).get("Headers", {}).items():
            if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'":
                headers[name] = value[1:-1]  # a static value; others map request data
        templates = definition.get("ResponseTemplates", {})
        template = templates.get("application/json") or next(iter(templates.values()), "")
        text = _substitute(str(template), response_type, message)
        return Answer(status, headers, text.encode())


def _substitute(template: str, response_type: str, message: str | None) -> str:
    """The `$context.error.*` variables gateway response templates may use."""
    return (
        template.replace("$context.error.messageString", json.dumps(message))
        .replace("$context.error.message", message or "")
        .replace("$context.error.responseType", response_type)
    )
