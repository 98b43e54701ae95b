"""The merged OpenAPI 3.1 document of every service, built from what the routes declare.

Nothing here is written by hand per route: each `Service.route(...)` records a `RouteDoc`, and
this module turns those (and the pydantic models they name) into one document behind one base
URL. Bodies are documented as pydantic validates them, answers as it serialises them. pydantic
names every distinct schema apart (`Model-Input` / `Model-Output` when one model reads and writes
differently, longer names when two models share a name), so no schema silently replaces another.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from chalice.app import Chalice
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from clientela.api import RouteDoc, Service
from clientela.problems import PROBLEM_CONTENT_TYPE

API_VERSION = "0.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
METHOD_ORDER = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
PATH_PARAMETER = re.compile(r"{([^}]+)}")

DESCRIPTION = """\
The customer back office of an online store: customers, credits, automation and exports.

**Authentication.** Every operation except the health checks needs
`Authorization: Bearer <token>`. The token is a JWT (HS256, issuer `clientela`, audience
`clientela-api`). Its `store_id` claim names the store: a request only ever sees and changes that
store's data. Its `scope` claim lists the scopes granted, `<service>:read` and
`<service>:write` (write implies read); each operation names the one it needs in
`x-required-scope`. A missing, malformed or expired token is answered 401; a token without the
scope, 403.

**Errors.** Every 4xx and 5xx answer is a problem document (RFC 9457,
`application/problem+json`); invalid fields are listed in `errors`, each with a JSON `pointer`.
404: the resource the path names is not in this store. 422: a body field, query parameter or
header is refused (it does not parse, breaks a rule, or names something this store does not
have). 400: only a body that cannot be read (not JSON).
"""

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A problem document (RFC 9457). Some problems add members of their own.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "Identifies the problem."},
        "title": {"type": "string", "description": "Short summary; the same for every instance."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong with this request."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "pointer", "reason", "code"],
                "properties": {
                    "field": {"type": "string", "description": "Dotted path of the input field."},
                    "pointer": {"type": "string", "description": "The same, as a JSON pointer."},
                    "reason": {"type": "string", "description": "Why, in English."},
                    "code": {
                        "type": "string",
                        "description": (
                            "The kind of refusal, stable for clients to translate: `missing`,"
                            " `string_too_long`, `extra_forbidden`, ... (pydantic's error types),"
                            " `invalid` for any other rule."
                        ),
                    },
                },
            },
        },
    },
    "additionalProperties": True,
}

PLAIN: dict[str, Any] = {"schema": {"type": "string"}}  # a header we have no words for yet
REQUEST_HEADERS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "description": (
            "Makes a retry safe for 24 hours: the same key with the same body answers as the first"
            " request did; the same key with another body is refused (422)."
        ),
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
    "If-Match": {
        "description": (
            "The ETag (or version) last read. If the resource has changed since, the request is"
            " refused with 412. `*` matches any version."
        ),
        "schema": {"type": "string"},
    },
}

RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The version of the resource as a strong ETag (`"3"`); send it in If-Match.',
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "Path of the resource created.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
}


def build_document(apps: Iterable[Chalice], *, version: str = API_VERSION) -> dict[str, Any]:
    """One OpenAPI 3.1 document for all `apps` (same input, same dict)."""
    docs = sorted(
        (doc for app in apps for doc in Service.registry.get(app.app_name, [])),
        key=lambda doc: (doc.path, METHOD_ORDER.index(doc.method.lower())),
    )
    refs, schemas = _schemas(docs)
    paths: dict[str, dict[str, Any]] = {}
    for doc in docs:
        operations = paths.setdefault(doc.path, {})
        method = doc.method.lower()
        if method in operations:
            raise ValueError(f"{doc.method} {doc.path} is declared by two services")
        operations[method] = _operation(doc, refs, schemas)
    _add_links(docs, paths)
    tags = sorted({tag for doc in docs for tag in doc.tags})
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Clientela API", "version": version, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JWT naming the store (`store_id`) and its scopes (`scope`).",
                }
            },
        },
    }
    return copy.deepcopy(document)  # no part shared with these module constants or between parts


def _add_links(docs: list[RouteDoc], paths: dict[str, dict[str, Any]]) -> None:
    """OpenAPI links from each route that creates a resource to every route that takes its id
    in the path (and no other path parameter): what a client, or a stateful test, can do next
    with what it created."""
    for doc in docs:
        if doc.creates is None:
            continue
        links = {}
        for target in docs:
            if PATH_PARAMETER.findall(target.path) == [doc.creates]:
                operation_id = paths[target.path][target.method.lower()]["operationId"]
                links[operation_id] = {
                    "operationId": operation_id,
                    "parameters": {doc.creates: f"$response.body#/{doc.created_field}"},
                }
        answer = paths[doc.path][doc.method.lower()]["responses"][str(doc.status)]
        answer["links"] = dict(sorted(links.items()))


# (model, "validation" | "serialization") -> {"$ref": ...}; keyed as pydantic keys it.
Refs = dict[Any, dict[str, Any]]


def _schemas(docs: list[RouteDoc]) -> tuple[Refs, dict[str, Any]]:
    """The `$ref` of every body and answer model, and the component schemas behind them."""
    wanted: set[tuple[type[BaseModel], JsonSchemaMode]] = set()
    for doc in docs:
        if doc.body:
            wanted.add((doc.body, "validation"))
        if doc.response:
            wanted.add((doc.response, "serialization"))
        wanted.update((model, "serialization") for _, model in doc.also)
    ordered = sorted(wanted, key=lambda key: (key[0].__module__, key[0].__qualname__, key[1]))
    refs, top = models_json_schema(ordered, ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    _add_schemas(schemas, top.get("$defs", {}))
    return dict(refs), schemas


def _add_schemas(schemas: dict[str, Any], new: dict[str, Any]) -> None:
    for name, schema in new.items():
        if schemas.setdefault(name, schema) != schema:
            raise ValueError(f"Two different schemas are named {name}: rename one of the models")


def _operation(doc: RouteDoc, refs: Refs, schemas: dict[str, Any]) -> dict[str, Any]:
    service = doc.tags[0] if doc.tags else "clientela"
    description = inspect.cleandoc(doc.description)
    operation: dict[str, Any] = {
        "operationId": f"{service}_{doc.operation_id}",
        "summary": doc.summary,
        "tags": list(doc.tags),
    }
    if doc.auth:
        requires = f"Requires the scope `{doc.scope}`."
        description = f"{description}\n\n{requires}" if description else requires
        operation["security"] = [{"bearer": []}]
        operation["x-required-scope"] = doc.scope
    else:
        operation["security"] = []
    if description:
        operation["description"] = description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in PATH_PARAMETER.findall(doc.path)
    ]
    if doc.query:
        parameters += _query_parameters(doc.query, schemas)
    parameters += [
        {"name": name, "in": "header", "required": False, **REQUEST_HEADERS.get(name, PLAIN)}
        for name in doc.headers
    ]
    if parameters:
        operation["parameters"] = parameters
    if doc.body:
        media_types = ["application/json"]
        if doc.method == "PATCH":
            media_types.append("application/merge-patch+json")
        ref = refs[(doc.body, "validation")]
        operation["requestBody"] = {
            "required": True,
            "content": {media_type: {"schema": ref} for media_type in media_types},
        }
    operation["responses"] = {str(doc.status): _success(doc, refs)}
    for status, model in doc.also:  # other success answers share the route's headers
        operation["responses"][str(status)] = {
            **_success(doc, refs),
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": refs[(model, "serialization")]}},
        }
    operation["responses"] |= {
        str(status): {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
        }
        for status in sorted(doc.errors)
    }
    return operation


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """One query parameter per field of the model, in the order the model declares them."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode="validation")
    _add_schemas(schemas, schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, declared in schema.get("properties", {}).items():
        field_schema = dict(declared)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in field_schema:
            parameter["description"] = field_schema.pop("description")
        alternatives = [field_schema, *field_schema.get("anyOf", [])]
        if any(alternative.get("type") == "array" for alternative in alternatives):
            parameter |= {"style": "form", "explode": True}
        parameters.append(parameter | {"schema": field_schema})
    return parameters


def _success(doc: RouteDoc, refs: Refs) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": HTTPStatus(doc.status).phrase}
    if doc.response_headers:
        answer["headers"] = {
            name: RESPONSE_HEADERS.get(name, PLAIN) for name in doc.response_headers
        }
    if doc.response and doc.status != HTTPStatus.NO_CONTENT:
        answer["content"] = {"application/json": {"schema": refs[(doc.response, "serialization")]}}
    return answer


# The browsable page served at /docs: it renders /openapi.json (Swagger UI from a CDN).
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Clientela API</title>
  <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
  <script>
    // "Authorize" takes a bearer token (locally: the one `make run` printed).
    SwaggerUIBundle({url: "/openapi.json", dom_id: "#docs", persistAuthorization: true});
  </script>
</body>
</html>
"""
