"""The API under generated input, valid and invalid, driven in-process.

Schemathesis generates requests from the OpenAPI document (positive and negative data) and sends
them through Chalice's local API Gateway with a valid token, so the authorizer and the route
wrapper run as on AWS. Whatever the input: never a 5xx, and every 4xx is a problem document
whose `status` is the HTTP status. The answers must also match what the document says.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, NamedTuple

import pytest
import schemathesis
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clientela.openapi import build_document
from tests.conftest import token_for

# Per operation and mode: about 20 s for the whole API. Raise it for a deeper hunt.
MAX_EXAMPLES = int(os.environ.get("CLIENTELA_FUZZ_EXAMPLES", "30"))
PROBLEM = "application/problem+json"


def negative_data_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's negative-data check, with 413 counted as a refusal: a body made invalid
    by its size is refused for its size before its fields are read."""
    if response.status_code == 413:
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_refused,
]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class ChaliceWSGI:
    """Chalice's local API Gateway (custom authorizer included) as a WSGI app for schemathesis."""

    def __init__(self, app: Any) -> None:
        self.http = Client(app).http

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = {
            name[5:].replace("_", "-").lower(): value
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # RAW_URI is the path as sent, still percent-encoded, as API Gateway matches it.
        query = environ.get("QUERY_STRING")
        url = f"{environ['RAW_URI']}?{query}" if query else environ["RAW_URI"]
        response = self.http.request(environ["REQUEST_METHOD"], url, headers=headers, body=body)
        status = HTTPStatus(response.status_code)
        start_response(f"{status.value} {status.phrase}", list(response.headers.items()))
        return [response.body]


@pytest.fixture
def api_document(apps: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_dict(build_document([m.app for m in apps.values()]))
    # The token is always ours and valid (below): never generate, drop or mangle Authorization.
    schema.config.generation.update(with_security_parameters=False)
    return schema


@pytest.fixture
def gateways(apps: dict[str, Any]) -> dict[str, ChaliceWSGI]:
    return {service: ChaliceWSGI(module.app) for service, module in apps.items()}


@pytest.fixture
def auth(store_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(store_id)}"}


# schemathesis' own pytest integration (`from_fixture(...).parametrize()`) breaks on pytest 9
# (it sets `node._nodeid`), so each operation is one subtest running a plain Hypothesis test.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_any_input_gets_an_answer_or_a_problem(
    mode: GenerationMode,
    api_document: Any,
    gateways: dict[str, ChaliceWSGI],
    auth: dict[str, str],
    subtests: pytest.Subtests,
) -> None:
    operations = [result.ok() for result in api_document.get_all_operations()]
    assert len(operations) == sum(len(item) for item in api_document.raw_schema["paths"].values())
    for operation in operations:
        with subtests.test(msg=operation.label):
            # The service a path belongs to (CloudFront's job on AWS) is the operation's tag.
            gateway = gateways[operation.tags[0]]
            try:
                fuzz(operation, mode, gateway, auth)
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                pytest.skip("nothing in this operation's input can be made invalid")


def fuzz(operation: Any, mode: GenerationMode, gateway: ChaliceWSGI, auth: dict[str, str]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode), existing=st.booleans())
    def send(case: Any, existing: bool) -> None:
        if existing and operation.path.startswith("/customers/{customer_id}"):
            # Half the time aim at a customer that exists, so changes get past the lookup.
            case.path_parameters["customer_id"] = create_customer(gateway, auth)

        response = case.call(app=gateway, headers=auth)

        status = response.status_code
        reproduce = case.as_curl_command(headers=auth)
        assert status < 500, f"{status} {response.text}\n{reproduce}"
        if status >= 400:
            content_type = response.headers.get("content-type", [""])[0]
            assert content_type == PROBLEM, f"{status} as {content_type}\n{reproduce}"
            assert response.json()["status"] == status, reproduce
        case.validate_response(response, checks=CHECKS, headers=auth)

    send()


def create_customer(gateway: ChaliceWSGI, auth: dict[str, str]) -> str:
    profile = {"email": f"fuzz-{uuid.uuid4().hex}@example.com", "country": "ES"}
    created = gateway.http.request(
        "POST",
        "/customers",
        headers={**auth, "content-type": "application/json"},
        body=json.dumps(profile).encode(),
    )
    assert created.status_code == 201
    return str(json.loads(created.body)["id"])


# Inputs schemathesis does not make, each once a 5xx or a problem without words.
class Hostile(NamedTuple):
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    status: int


HOSTILE = {
    "deep-array": Hostile("POST", "/customers", b"[" * 3000 + b"]" * 3000, {}, 400),
    "deep-object": Hostile("POST", "/customers", b'{"a":' * 3000 + b"1" + b"}" * 3000, {}, 400),
    "media-type": Hostile("POST", "/customers", b"{}", {"content-type": "text/plain"}, 415),
    "method": Hostile("PUT", "/customers", b"{}", {}, 405),
}


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_gets_a_problem_that_says_what_went_wrong(
    gateways: dict[str, ChaliceWSGI], auth: dict[str, str], hostile: Hostile
) -> None:
    sent = {**auth, "content-type": "application/json", **hostile.headers}
    response = gateways["customers"].http.request(
        hostile.method, hostile.path, headers=sent, body=hostile.body
    )

    assert response.status_code == hostile.status
    assert response.headers["Content-Type"] == PROBLEM
    problem = json.loads(response.body)
    assert problem["status"] == hostile.status
    assert problem["detail"]
