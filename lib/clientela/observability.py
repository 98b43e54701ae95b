"""Logging, metrics and tracing set-up, the same for every service.

JSON logs with the correlation id and the store id; never personal data (log ids, not
e-mails, phones or names). Metrics in CloudWatch's embedded format; X-Ray tracing on AWS.
"""

from __future__ import annotations

import functools
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Chalice

from clientela.idempotency import use_lambda_context

METRICS_NAMESPACE = "Clientela"
# What X-Ray traces besides our own subsegments: the AWS calls. Powertools' default patches
# every library the X-Ray SDK knows (requests, httplib, sqlite3, SQLAlchemy, ...), importing
# each one at every cold start; none of them is used here.
TRACED_MODULES = ("botocore",)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
Traced = TypeVar("Traced", bound=Callable[..., Any])


class LazyTracer:
    """Powertools' `Tracer`, made when a traced function is first called.

    Making it loads the X-Ray SDK and patches botocore (a fifth of a bare `import boto3`);
    every function declares its traced handlers (and the API handler every route) while it
    starts, so a `Tracer` made then would make each function pay for it before it can answer
    anything; made on the first call, the patching is done before the first AWS call all the
    same (it patches botocore's client class, so clients made earlier are traced too). Root
    README, "Cold start".
    """

    def __init__(self, service: str, patch_modules: tuple[str, ...]) -> None:
        self._service = service
        self._patch_modules = patch_modules

    @functools.cached_property
    def tracer(self) -> Tracer:
        return Tracer(service=self._service, patch_modules=self._patch_modules)

    def capture_method(self, method: Traced) -> Traced:
        """As `Tracer.capture_method`: an X-Ray subsegment per call."""
        traced: list[Callable[..., Any]] = []

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            if not traced:
                traced.append(self.tracer.capture_method(method))
            return traced[0](*args, **kwargs)

        return call  # type: ignore[return-value]


@dataclass(frozen=True)
class Observability:
    logger: Logger
    metrics: Metrics
    tracer: LazyTracer


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    return None


def observability(service: str) -> Observability:
    return Observability(
        logger=Logger(service=service),
        metrics=Metrics(namespace=METRICS_NAMESPACE, service=service),
        tracer=LazyTracer(service, TRACED_MODULES),
    )


def install(app: Chalice, obs: Observability) -> None:
    """Wrap every invocation of the app: correlation id, store id, one metric, flush."""
    # Disabled (local stack, tests): Powertools would keep buffering and warn on every flush.
    enabled = os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("1", "true")
    count = obs.metrics.add_metric if enabled else _ignore
    flush = obs.metrics.flush_metrics if enabled else _ignore

    @app.middleware("http")
    def http_context(event: Any, get_response: Callable[[Any], Any]) -> Any:
        context = event.context or {}
        headers = event.headers or {}
        offered = headers.get("x-correlation-id") or ""
        # A caller's id is kept only if it cannot smuggle anything into the logs.
        correlation_id = (
            offered if _SAFE_ID.match(offered) else context.get("requestId") or str(uuid.uuid4())
        )
        store_id = (context.get("authorizer") or {}).get("store_id")
        use_lambda_context(app.lambda_context)
        obs.logger.set_correlation_id(correlation_id)
        obs.logger.append_keys(store_id=store_id, route=context.get("resourcePath"))
        try:
            response = get_response(event)
            count(name=f"Http{response.status_code // 100}xx", unit=MetricUnit.Count, value=1)
            obs.logger.info(
                "request handled",
                extra={"method": event.method, "status": response.status_code},
            )
            if correlation_id:
                response.headers["X-Correlation-Id"] = correlation_id
            return response
        finally:
            flush()
            obs.logger.remove_keys(["store_id", "route"])

    @app.middleware("all")
    def event_context(event: Any, get_response: Callable[[Any], Any]) -> Any:
        if hasattr(event, "method"):  # HTTP requests pass through http_context above
            return get_response(event)
        lambda_context = getattr(event, "context", None)
        use_lambda_context(lambda_context)
        obs.logger.set_correlation_id(getattr(lambda_context, "aws_request_id", None))
        try:
            return get_response(event)
        finally:
            count(name="EventInvocations", unit=MetricUnit.Count, value=1)
            flush()
