"""Routes the same way in every service: auth, parsing, problem responses, docs metadata.

A service declares a route with `Service.route(...)`, giving the models of its query, body and
answer. The wrapper verifies the principal, parses and validates input (bad input never reaches
a use case), turns `Problem`s into RFC 9457 answers, and records what the OpenAPI document needs.
A route function receives a `Call` and the path parameters, and returns a `Reply`.
"""

from __future__ import annotations

import importlib
import json
import re
import traceback
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Chalice, Response
from pydantic import BaseModel, ValidationError

from clientela import functions, problems
from clientela.auth import Principal, install_authorizer, principal_from_context
from clientela.observability import Observability
from clientela.problems import PROBLEM_CONTENT_TYPE, FieldError, Problem

DEFAULT_MAX_BODY = 64 * 1024
JSON_TYPES = ["application/json", "application/merge-patch+json"]


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says about one route."""

    path: str
    method: str
    operation_id: str
    summary: str
    description: str
    tags: tuple[str, ...]
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    headers: tuple[str, ...]
    response_headers: tuple[str, ...]
    auth: bool
    scope: str | None
    # Other success answers of the route (e.g. 202 with a job next to 200 with a result).
    also: tuple[tuple[int, type[BaseModel]], ...] = ()
    # The path parameter the answer's `id` fills (POST /customers creates `customer_id`), or,
    # for an answer without `id`, its field of that name (POST /coupons creates `code`): the
    # OpenAPI document links this route to every route with that parameter in its path.
    creates: str | None = None

    @property
    def created_field(self) -> str | None:
        """The answer's field that holds what `creates` names."""
        if self.creates is None:
            return None
        fields = self.response.model_fields if self.response is not None else {}
        return "id" if "id" in fields else self.creates if self.creates in fields else None


@dataclass
class Reply:
    status: int = 200
    # Text or bytes go out as they are, with the Content-Type the route sets in `headers`
    # (the public pages and images of e-mail links); models and dicts as JSON.
    body: BaseModel | dict[str, Any] | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> Response:
        headers: dict[str, str | list[str]] = dict(self.headers)
        if self.body is None:
            return Response(body="", status_code=self.status, headers=headers)
        if isinstance(self.body, str | bytes):
            return Response(body=self.body, status_code=self.status, headers=headers)
        if isinstance(self.body, BaseModel):
            text = self.body.model_dump_json(exclude_none=False)
        else:
            text = json.dumps(self.body, ensure_ascii=False, default=str)
        return Response(
            body=text,
            status_code=self.status,
            headers={"Content-Type": "application/json", **headers},
        )


@dataclass(frozen=True)
class Call:
    """One validated request, as a route function sees it."""

    principal: Principal
    query: Any
    body: Any
    headers: dict[str, str]
    request_id: str | None

    @property
    def store_id(self) -> str:
        return self.principal.store_id

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(raw: bytes | None, limit: int) -> Any:
    if raw is None or raw == b"":
        raise problems.bad_request("A JSON body is required", [FieldError("", "Missing body")])
    if len(raw) > limit:
        raise problems.too_large(limit)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # a few KB of nesting recurses out
        raise problems.bad_request(
            "The body is not valid UTF-8 JSON", [FieldError("", "Malformed JSON")]
        ) from None


def _raw_body(request: Any) -> bytes:
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else bytes(raw)


def answers_errors(
    path: str, declared: Iterable[int], *, auth: bool, body: bool
) -> tuple[int, ...]:
    """Every error status a route can answer, for its OpenAPI document (clientela.problems'
    rule): 404 only where the path names a resource, 400/413/415 only where there is a body to
    read, 422 everywhere (any query parameter a route does not take is refused, named)."""
    declared = set(declared)
    has_id = "{" in path
    if 404 in declared and not has_id:
        raise ValueError(f"{path}: 404 is for a path that names a resource; use UnknownReference")
    return tuple(
        sorted(
            {
                *declared,
                *((401, 403) if auth else ()),
                *((404,) if has_id else ()),
                *((400, 413, 415) if body else ()),
                422,
                500,
            }
        )
    )


def _is_list(annotation: Any) -> bool:
    """list[X], or list[X] | None: a query parameter that may repeat."""
    if typing.get_origin(annotation) is list:
        return True
    return any(typing.get_origin(arg) is list for arg in typing.get_args(annotation))


def _query_dict(request: Any, model: type[BaseModel]) -> dict[str, Any]:
    params = request.query_params
    if not params:
        return {}
    result: dict[str, Any] = {}
    for name in params:
        values = params.getlist(name)
        annotation = model.model_fields[name].annotation if name in model.model_fields else None
        result[name] = values if _is_list(annotation) else values[-1]
    return result


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise problems.from_validation_error(exc) from None


class Health(BaseModel):
    status: str
    service: str


class Service:
    """A service's Chalice app with Clientela's conventions installed.

    Every service answers `GET /health/<name>` without a token.
    """

    registry: dict[str, list[RouteDoc]] = {}

    def __init__(self, app: Chalice, name: str, obs: Observability) -> None:
        self.app = app
        self.name = name
        self.obs = obs
        self.authorizer = install_authorizer(app, name)
        self.docs = Service.registry.setdefault(app.app_name, [])
        self.docs.clear()
        # The module that declared each route (path, method): what `route_table` writes.
        self.modules: dict[tuple[str, str], str] = {}
        app.register_middleware(self._problem_middleware, "http")

        @self.route(f"/health/{name}", "GET", summary="Health check", response=Health, auth=False)
        def health(_call: Call) -> Reply:
            return Reply(200, Health(status="ok", service=name))

    def routes(self, modules: Iterable[str]) -> None:
        """Declares the routes of these modules (each one's `register(service)`), in order.

        In the API handler's function on Lambda, with the route table `make package` wrote
        (`clientela.functions.route_table`), a module is imported on the first request of one
        of its routes: each route starts as a stand-in that loads its module, which then
        declares its routes in place of the stand-ins. Anywhere else every module is imported
        now, and the OpenAPI document is complete.
        """
        table = functions.route_table()
        if table is None:
            for module in modules:
                declared = len(self.docs)
                importlib.import_module(module).register(self)
                for doc in self.docs[declared:]:
                    self.modules[(doc.path, doc.method)] = module
            return
        wanted = set(modules)
        for entry in table:
            if entry["module"] in wanted:
                self._stand_in(entry["path"], entry["method"], entry["module"], entry)

    def _stand_in(self, path: str, method: str, module: str, entry: dict[str, Any]) -> None:
        def load_and_call(**params: Any) -> Any:
            self._load(module)
            return self.app.routes[path][method].view_function(**params)

        load_and_call.__name__ = f"load_{module.replace('.', '_')}"
        self.app.route(
            path,
            methods=[method],
            authorizer=self.authorizer if entry.get("auth", True) else None,
            content_types=list(entry["content_types"]),
        )(load_and_call)
        self.modules[(path, method)] = module

    def _load(self, module: str) -> None:
        """Replaces the stand-ins of a module's routes by the routes it declares."""
        for path, method in [key for key, owner in self.modules.items() if owner == module]:
            del self.app.routes[path][method]
            del self.modules[(path, method)]
        declared = len(self.docs)
        importlib.import_module(module).register(self)
        for doc in self.docs[declared:]:
            self.modules[(doc.path, doc.method)] = module

    def route_table(self) -> list[dict[str, Any]]:
        """What `clientela.functions.route_table` reads back: every route of `routes(...)`."""
        return [
            {
                "path": path,
                "method": method,
                "module": module,
                "auth": self.app.routes[path][method].authorizer is not None,
                "content_types": list(self.app.routes[path][method].content_types),
            }
            for (path, method), module in self.modules.items()
        ]

    def _problem_middleware(self, event: Any, get_response: Callable[[Any], Any]) -> Any:
        """Chalice's own errors (415, 405, ...) answered as problem documents like ours."""
        response = get_response(event)
        content_type = response.headers.get("Content-Type", "")
        if response.status_code >= 400 and content_type != PROBLEM_CONTENT_TYPE:
            try:
                body = response.body  # Chalice's own errors carry a dict: {"Code", "Message"}
                original = json.loads(body) if isinstance(body, str | bytes) else body
            except ValueError:
                original = {}
            message = original.get("Message") if isinstance(original, dict) else None
            slug = str(original.get("Code", "error")) if isinstance(original, dict) else "error"
            problem = Problem(
                response.status_code,
                slug.lower(),
                "Request refused" if response.status_code < 500 else "Internal error",
                str(message or ""),
            )
            return problem.to_response()
        return response

    def route(
        self,
        path: str,
        method: str,
        *,
        summary: str,
        description: str = "",
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        headers: tuple[str, ...] = (),
        response_headers: tuple[str, ...] = (),
        auth: bool = True,
        write: bool | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        also: dict[int, type[BaseModel]] | None = None,
        creates: str | None = None,
        content_types: tuple[str, ...] = (),
    ) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
        """`content_types`: request bodies a route accepts besides JSON (the form mailbox
        providers post, RFC 8058), for a route that declares no `body` (it reads none)."""
        is_write = method not in ("GET", "HEAD") if write is None else write
        if creates is not None and not (
            response is not None and {"id", creates} & set(response.model_fields)
        ):
            raise ValueError(f"{path}: creates={creates!r} needs an answer with `id` or it")
        scope = f"{self.name}:{'write' if is_write else 'read'}" if auth else None

        def decorate(func: Callable[..., Reply]) -> Callable[..., Reply]:
            traced = self.obs.tracer.capture_method(func)  # an X-Ray subsegment per route

            def view(**params: Any) -> Response:
                return self._handle(
                    traced,
                    params,
                    query=query,
                    body=body,
                    auth=auth,
                    scope=scope,
                    max_body=max_body,
                ).to_response()

            view.__name__ = func.__name__
            view.__doc__ = func.__doc__
            self.app.route(
                path,
                methods=[method],
                authorizer=self.authorizer if auth else None,
                content_types=[*JSON_TYPES, *content_types],
            )(view)
            self.docs.append(
                RouteDoc(
                    path,
                    method,
                    func.__name__,
                    summary,
                    description or (func.__doc__ or ""),
                    (self.name,),
                    query,
                    body,
                    response,
                    status,
                    answers_errors(path, errors, auth=auth, body=body is not None),
                    headers,
                    response_headers,
                    auth,
                    scope,
                    tuple(sorted((also or {}).items())),
                    creates,
                )
            )
            return func

        return decorate

    def _handle(
        self,
        func: Callable[..., Reply],
        params: dict[str, Any],
        *,
        query: type[BaseModel] | None,
        body: type[BaseModel] | None,
        auth: bool,
        scope: str | None,
        max_body: int,
    ) -> Reply | Problem:
        request = self.app.current_request
        assert request is not None  # Chalice sets it before calling any view
        try:
            principal = (
                principal_from_context(request.context) if auth else Principal("", frozenset())
            )
            if (
                scope
                and scope not in principal.scopes
                and not (
                    scope.endswith(":read") and scope.replace(":read", ":write") in principal.scopes
                )
            ):
                raise problems.forbidden(f"This token lacks the scope {scope}")
            parsed_query = _validate(query, _query_dict(request, query)) if query else None
            if query is None and request.query_params:
                raise problems.invalid(
                    [FieldError(name, "Unknown parameter") for name in request.query_params],
                    "This operation takes no query parameters",
                )
            parsed_body = None
            if body is not None:
                parsed_body = _validate(body, parse_json_body(_raw_body(request), max_body))
            call = Call(
                principal=principal,
                query=parsed_query,
                body=parsed_body,
                headers={k.lower(): v for k, v in (request.headers or {}).items()},
                request_id=(request.context or {}).get("requestId"),
            )
            return func(call, **params)
        except Problem as problem:
            return problem
        except (problems.NotFound, problems.UnknownReference) as error:
            return problems.problem_of(error)
        except Exception as exc:
            # Where it failed, never the message: messages (pydantic's above all) echo input.
            frames = traceback.extract_tb(exc.__traceback__)
            self.obs.logger.error(
                "unhandled error",
                extra={
                    "error_type": type(exc).__name__,
                    "stack": [f"{f.filename}:{f.lineno} in {f.name}" for f in frames],
                },
            )
            return Problem(500, "internal-error", "Internal error", "Something went wrong")


class Routes:
    """Routes declared in a module of their own, then added to a Service by the app.

    `routes.route(...)` takes what `Service.route` takes; `routes.register(service)` declares
    them all, so a route module needs no app and an app names each module once.
    """

    def __init__(self) -> None:
        self._declared: list[tuple[str, str, dict[str, Any], Callable[..., Reply]]] = []

    def route(
        self, path: str, method: str, **options: Any
    ) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
        def declare(func: Callable[..., Reply]) -> Callable[..., Reply]:
            self._declared.append((path, method, options, func))
            return func

        return declare

    def register(self, service: Service) -> None:
        for path, method, options, func in self._declared:
            service.route(path, method, **options)(func)


def idempotency_key(value: str | None, *, required: bool = False) -> str | None:
    """The Idempotency-Key header, checked: 1-255 printable characters. A header is a field of
    the request like any other, so a missing (when required) or malformed key is a 422 naming
    it (clientela.problems' rule), in every service."""
    if value is None:
        if required:
            raise problems.invalid(
                [FieldError("Idempotency-Key", "Required")],
                "This operation needs an Idempotency-Key header",
            )
        return None
    key = value.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise problems.invalid(
            [FieldError("Idempotency-Key", "Invalid key")],
            "Idempotency-Key must be 1-255 printable characters",
        )
    return key


_VERSION = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() also takes "²"


def if_match_versions(value: str | None) -> frozenset[int] | None:
    """The If-Match header, read the same way in every service: `"3"`, `W/"3"`, `3`, a list of
    them, or `*`. None when absent; an empty set for `*` (any current version); a malformed
    value is a 422 naming the header."""
    if value is None:
        return None
    versions = set()
    for part in value.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag == "*":
            return frozenset()
        if not _VERSION.fullmatch(tag):
            raise problems.invalid(
                [FieldError("If-Match", "Not a version or ETag of this API")],
                "If-Match must carry the version (or ETag) you last read",
            )
        versions.add(int(tag))
    return frozenset(versions)
