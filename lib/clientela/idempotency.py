"""Idempotency set-up: one way for every service to make a use case safe to retry.

Built on Powertools Idempotency with a DynamoDB table per service. The persistence layer is made
on first use so importing a service stays cheap and tests can start their mocks first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from clientela import aws

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_EXPIRY_SECONDS = 24 * 3600
_CONFIGS: list[IdempotencyConfig] = []
_CURRENT_CONTEXT: list[Any] = []


def use_lambda_context(context: Any) -> None:
    """Lets every idempotent use case see the invocation's remaining time (stale locks expire)."""
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return
    _CURRENT_CONTEXT[:] = [context]
    for config in _CONFIGS:
        config.register_lambda_context(context)


def idempotent(
    *,
    table: Callable[[], str],
    key: str,
    payload: str | None = None,
    data_argument: str = "request",
    expires_after_seconds: int = DEFAULT_EXPIRY_SECONDS,
) -> Callable[[F], F]:
    """Make a use case idempotent on the JMESPath `key` of its `data_argument`.

    With `payload`, a repeat of the same key with a different payload raises Powertools'
    `IdempotencyValidationError` instead of answering with the first result.
    """

    def decorate(func: F) -> F:
        @functools.cache
        def guarded() -> Callable[..., Any]:
            # Imported with the first call: every function imports this module (through
            # clientela.observability), few run an idempotent use case (root README, "Cold
            # start").
            from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            config = IdempotencyConfig(
                event_key_jmespath=key,
                payload_validation_jmespath=payload or "",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=expires_after_seconds,
            )
            _CONFIGS.append(config)
            for context in _CURRENT_CONTEXT:
                config.register_lambda_context(context)
            store = DynamoDBPersistenceLayer(table_name=table(), boto3_client=aws.dynamodb())
            wrapped: Callable[..., Any] = idempotent_function(
                data_keyword_argument=data_argument, config=config, persistence_store=store
            )(func)
            return wrapped

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            return guarded()(*args, **kwargs)

        run.reset = guarded.cache_clear  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate
