"""The API under generated input, valid and invalid, driven in-process.

Schemathesis generates requests from the OpenAPI document (positive and negative data) and sends
them through Chalice's local API Gateway with a valid token, so the authorizer and the route
wrapper run as on AWS. Whatever the input: never a 5xx, and every 4xx is a problem document
whose `status` is the HTTP status. The answers must also match what the document says.

Every free-text field of a query or a body is drawn from `text_within`: blank and
whitespace-only strings, strings as long as the field allows, non-Latin scripts, combining
marks and emoji, besides arbitrary text. Sequences follow the document's links (create a
customer or a segment, then read, change and delete it). Each test counts the requests it
sent and asserts its share of the 1,000 a run sends at least.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, NamedTuple

import pytest
import schemathesis
from chalice.test import Client
from hypothesis import HealthCheck, Phase, find, given, settings
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

# Per operation and mode. Raise it for a deeper hunt.
MAX_EXAMPLES = int(os.environ.get("CLIENTELA_FUZZ_EXAMPLES", "20"))
# The same generated inputs every run, so a run's verdict does not depend on luck: what a new
# input finds is found by asking for new ones (CLIENTELA_FUZZ_EXPLORE=1), then kept as a test.
EXPLORE = os.environ.get("CLIENTELA_FUZZ_EXPLORE") == "1"
PROBLEM = "application/problem+json"
# The operations are dealt into shards, one test each, so pytest-xdist spreads them.
SHARDS = 3
# Requests each test must have sent at least (hypothesis stops early on small input spaces);
# together at least 1,000 per run.
FLOOR: dict[str, int] = {"positive": 110, "negative": 100, "text": 100, "stateful": 120}
MIN_CASES = 1000

# Text that broke, or could break, code that only ever saw names and e-mails.
BLANKS = ("", " ", "   ", "\t", "\n", " \t\r\n ", "\u00a0", "\u3000", "\u200b", "\u2028")
NON_LATIN = (
    "José", "Łódź", "İstanbul", "straße", "Ærø", "北京市", "東京", "서울", "Москва",
    "مرحبا", "שלום", "ελληνικά", "हिन्दी", "ไทย", "😀👍🏽", "e\u0301", "\u202eabc",
)  # fmt: skip
UNBOUNDED = 5000  # "very long" for a field that sets no maxLength


def text_within(min_length: int, max_length: int | None) -> st.SearchStrategy[str]:
    """Blank, whitespace-only, longest allowed, non-Latin or any text, within the bounds."""
    longest = UNBOUNDED if max_length is None else max_length
    fits = st.one_of(
        st.sampled_from(BLANKS),
        st.sampled_from(NON_LATIN),
        st.sampled_from(" aé北😀").map(lambda char: char * longest),
        st.tuples(st.sampled_from(NON_LATIN), st.integers(1, longest)).map(
            lambda pair: (pair[0] * pair[1])[:longest]
        ),
        st.text(max_size=min(longest, 50)),
    ).filter(lambda text: min_length <= len(text) <= longest)
    return st.one_of(fits, st.text(min_size=min_length, max_size=max(min_length, min(longest, 50))))


def with_text_formats(node: Any) -> Any:
    """Gives every free-text string schema (no format, pattern, enum or const) a format drawn
    from `text_within`, one format per pair of length bounds."""
    if isinstance(node, list):
        return [with_text_formats(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: with_text_formats(value) for key, value in node.items()}
    free = not {"format", "pattern", "enum", "const"} & set(node)
    if node.get("type") == "string" and free:
        low, high = int(node.get("minLength", 0)), node.get("maxLength")
        name = f"clientela-text-{low}-{high}"
        schemathesis.openapi.format(name, text_within(low, None if high is None else int(high)))
        node["format"] = name
    return node


class Target(NamedTuple):
    """A free-text field of an operation's input: where it is and its length bounds."""

    location: str  # "query" or "body"
    path: tuple[str | int, ...]  # the parameter's name, or the keys down the body
    low: int
    high: int | None
    repeated: bool  # a query parameter that takes a list


def _bounds(schema: dict[str, Any]) -> tuple[int, int | None] | None:
    name = str(schema.get("format", ""))
    if not name.startswith("clientela-text-"):
        return None
    low, high = name.removeprefix("clientela-text-").split("-")
    return int(low), None if high == "None" else int(high)


def _text_nodes(
    schema: Any, components: dict[str, Any], at: tuple[str | int, ...], depth: int = 0
) -> list[tuple[tuple[str | int, ...], int, int | None, bool]]:
    """(path, low, high, in a list) of every free-text schema under `schema`."""
    if not isinstance(schema, dict) or depth > 8:
        return []
    if "$ref" in schema:
        return _text_nodes(components[schema["$ref"].rsplit("/", 1)[1]], components, at, depth + 1)
    bounds = _bounds(schema)
    if bounds is not None:
        return [(at, *bounds, False)]
    found = []
    for branch in [*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]:
        found += _text_nodes(branch, components, at, depth + 1)
    for key, sub in (schema.get("properties") or {}).items():
        found += _text_nodes(sub, components, (*at, key), depth + 1)
    if "items" in schema:
        found += [
            (path, low, high, True)
            for path, low, high, _ in _text_nodes(schema["items"], components, (*at, 0), depth + 1)
        ]
    return found


def text_targets(operation: Any, document: dict[str, Any]) -> list[Target]:
    """Every free-text query parameter and body field of the operation."""
    components = document["components"]["schemas"]
    raw = operation.definition.raw
    targets = []
    for parameter in raw.get("parameters", []):
        if parameter["in"] == "query":
            for _, low, high, repeated in _text_nodes(parameter["schema"], components, ()):
                where = (parameter["name"],)
                targets.append(Target(parameter["in"], where, low, high, repeated))
    body = raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    for path, low, high, _ in _text_nodes(body.get("schema"), components, ()):
        targets.append(Target("body", path, low, high, False))
    return sorted(set(targets))


def put_text(case: Any, target: Target, text: str) -> None:
    """Sets the target field of a generated case to `text`, building the body down to it."""
    if target.location == "query":
        case.query = {**(case.query or {}), target.path[0]: [text] if target.repeated else text}
        return
    if not isinstance(case.body, dict):
        case.body = {}
    node: Any = case.body
    for index, key in enumerate(target.path):
        last = index == len(target.path) - 1
        following = None if last else target.path[index + 1]
        fresh: Any = text if last else [] if isinstance(following, int) else {}
        if isinstance(key, int):  # the first item of a list
            if not node:
                node.append(fresh)
            elif last or not isinstance(node[0], type(fresh)):
                node[0] = fresh
            node = node[0]
        else:
            if last or not isinstance(node.get(key), type(fresh)):
                node[key] = fresh
            node = node[key]


def fuzz_document(document: dict[str, Any]) -> dict[str, Any]:
    """The document with text formats in bodies and query parameters.

    Not in headers (HTTP carries Latin-1 only) nor in path ids: an id with a `/` or none at all
    is another path, which API Gateway answers before any function runs."""
    document = dict(document)
    document["components"] = with_text_formats(document["components"])
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        paths[path] = {}
        for method, declared in item.items():
            operation = dict(declared)
            operation["parameters"] = [
                with_text_formats(parameter) if parameter["in"] == "query" else parameter
                for parameter in operation.get("parameters", [])
            ]
            if not operation["parameters"]:
                del operation["parameters"]
            paths[path][method] = operation
    document["paths"] = paths
    return document


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
    document = fuzz_document(build_document([m.app for m in apps.values()]))
    schema = schemathesis.openapi.from_dict(document)
    # The token is always ours and valid (below): never generate, drop or mangle Authorization.
    schema.config.generation.update(with_security_parameters=False)
    return schema


@pytest.fixture
def gateways(apps: dict[str, Any]) -> dict[str, ChaliceWSGI]:
    return {service: ChaliceWSGI(module.app) for service, module in apps.items()}


@pytest.fixture
def auth(store_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(store_id)}"}


def check(case: Any, response: Any, auth: dict[str, str]) -> None:
    """Never a 5xx; every 4xx a problem document with its status; answers as documented."""
    status = response.status_code
    reproduce = case.as_curl_command(headers=auth)
    assert status < 500, f"{status} {response.text}\n{reproduce}"
    if status >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type == PROBLEM, f"{status} as {content_type}\n{reproduce}"
        assert response.json()["status"] == status, reproduce
    case.validate_response(response, checks=CHECKS, headers=auth)


def test_the_shares_add_up_to_a_thousand_cases() -> None:
    shares = SHARDS * (FLOOR["positive"] + FLOOR["negative"] + FLOOR["text"])
    assert shares + FLOOR["stateful"] >= MIN_CASES


# schemathesis' own pytest integration (`from_fixture(...).parametrize()`) breaks on pytest 9
# (it sets `node._nodeid`), so each operation is one subtest running a plain Hypothesis test.
TEXT = "text"  # valid requests with one free-text field set to each text of `sweep`
PARTS = [(mode, shard) for mode in (*GenerationMode, TEXT) for shard in range(SHARDS)]


@pytest.mark.parametrize("part", PARTS, ids=[f"{mode}-{shard}" for mode, shard in PARTS])
def test_any_input_gets_an_answer_or_a_problem(
    part: tuple[GenerationMode | str, int],
    api_document: Any,
    gateways: dict[str, ChaliceWSGI],
    auth: dict[str, str],
    subtests: pytest.Subtests,
) -> None:
    mode, shard = part
    operations = sorted(
        (result.ok() for result in api_document.get_all_operations()), key=lambda op: op.label
    )
    assert len(operations) == sum(len(item) for item in api_document.raw_schema["paths"].values())
    sent = 0
    for operation in deal(operations, mode, api_document.raw_schema)[shard]:
        with subtests.test(msg=operation.label):
            try:
                if mode == TEXT:
                    targets = text_targets(operation, api_document.raw_schema)
                    sent += fuzz_text(operation, targets, gateways, auth) if targets else 0
                else:
                    sent += fuzz(operation, GenerationMode(mode), gateways, auth)
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                pytest.skip("nothing in this operation's input can be made invalid")
    print(f"{mode} shard {shard}: {sent} requests")
    assert sent >= FLOOR[str(mode)]


def deal(
    operations: list[Any], mode: GenerationMode | str, document: dict[str, Any]
) -> list[list[Any]]:
    """The operations in SHARDS hands. Generated cases are about as many per operation, so
    every third one; the text sweep sends one request per text per free-text field, which
    operations hold in very different numbers, so it deals the heaviest first to the lightest
    hand and each shard gets its share of requests whatever routes a service adds."""
    if mode != TEXT:
        return [operations[shard::SHARDS] for shard in range(SHARDS)]
    hands: list[list[Any]] = [[] for _ in range(SHARDS)]
    loads = [0] * SHARDS

    def weight(operation: Any) -> int:
        return sum(len(sweep(t.low, t.high)) for t in text_targets(operation, document))

    for operation in sorted(operations, key=lambda op: (-weight(op), op.label)):
        lightest = loads.index(min(loads))
        hands[lightest].append(operation)
        loads[lightest] += weight(operation)
    return hands


def fuzz(
    operation: Any, mode: GenerationMode, gateways: dict[str, ChaliceWSGI], auth: dict[str, str]
) -> int:
    """Sends the operation's generated cases; the number sent."""
    sent = []
    # The service a path belongs to (CloudFront's job on AWS) is the operation's tag.
    gateway = gateways[operation.tags[0]]

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=not EXPLORE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode), existing=st.booleans())
    def send(case: Any, existing: bool) -> None:
        if existing and operation.path.startswith("/customers/{customer_id}"):
            # Half the time aim at a customer that exists, so changes get past the lookup.
            # Customers are made by the customers service, whichever service owns the path.
            case.path_parameters["customer_id"] = create_customer(gateways["customers"], auth)

        response = case.call(app=gateway, headers=auth)
        sent.append(1)
        check(case, response, auth)

    send()
    return len(sent)


def sweep(low: int, high: int | None) -> list[str]:
    """One text of each hostile kind that fits the bounds: empty, blank, whitespace-only, as
    long as allowed (in a non-Latin letter), non-Latin scripts, combining and bidi marks."""
    longest = UNBOUNDED if high is None else high
    kinds = ["", " ", "\u3000\t\n ", "ã" * longest, "北京市 Łódź", "e\u0301\u202eabc"]
    return [text for text in kinds if low <= len(text) <= longest]


def fuzz_text(
    operation: Any, targets: list[Target], gateways: dict[str, ChaliceWSGI], auth: dict[str, str]
) -> int:
    """Every free-text field of the operation, one at a time, set to each text of `sweep` in
    the smallest valid request: optional parameters are otherwise rarely sent, and blank ones
    rarer still, so this does not leave them to chance."""
    gateway = gateways[operation.tags[0]]
    # Hypothesis draws its simplest case first; shrinking an always-true condition from there
    # found nothing smaller and cost 20-40 s per operation.
    base = find(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        lambda _case: True,
        settings=settings(
            database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
        ),
    )
    path_parameters = dict(base.path_parameters or {})
    if operation.path.startswith("/customers/{customer_id}"):
        path_parameters["customer_id"] = create_customer(gateways["customers"], auth)
    raw = operation.definition.raw
    sent = 0
    for target in targets:
        for text in sweep(target.low, target.high):
            # (The body only where there is one: a copied "no body" marker is no longer one.)
            body = {"body": copy.deepcopy(base.body)} if "requestBody" in raw else {}
            case = operation.Case(
                path_parameters=dict(path_parameters),
                query=copy.deepcopy(base.query),
                media_type=base.media_type,
                **body,
            )
            put_text(case, target, text)
            response = case.call(app=gateway, headers=auth)
            sent += 1
            check(case, response, auth)
    return sent


def test_what_is_created_can_be_read_changed_and_deleted(
    api_document: Any, gateways: dict[str, ChaliceWSGI]
) -> None:
    """Sequences along the document's links: POST /customers then GET, PATCH, consent, orders,
    timeline, DELETE of that customer (and its wallet); POST /segments then its reads and
    changes. Generated text everywhere, as above."""
    sent = []

    class Sequences(api_document.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # A store of its own per scenario: what one left behind (an e-mail now taken) must
            # not change what the next one can do, or hypothesis cannot replay a scenario.
            self.auth = {"Authorization": f"Bearer {token_for(f'store-{uuid.uuid4().hex[:12]}')}"}

        def call(self, case: Any, **_kwargs: Any) -> Any:
            response = case.call(app=gateways[case.operation.tags[0]], headers=self.auth)
            sent.append(case.operation.label)
            return response

        def validate_response(self, response: Any, case: Any, *_args: Any, **_kw: Any) -> None:
            check(case, response, self.auth)

    Sequences.run(
        settings=settings(
            max_examples=MAX_EXAMPLES * 3 // 2,
            derandomize=not EXPLORE,
            stateful_step_count=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    followed = {label for label in sent if "{" in label}
    print(f"stateful: {len(sent)} requests, {len(followed)} linked operations reached")
    assert len(sent) >= FLOOR["stateful"]
    assert len(followed) >= 4  # reads and changes of what was created, not only creations


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
