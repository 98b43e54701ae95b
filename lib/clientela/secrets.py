"""Secret values from Secrets Manager, cached in memory for a few minutes per function."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from clientela import aws

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

DEFAULT_MAX_AGE_SECONDS = 300


@functools.cache
def _provider(client: Any) -> SecretsProvider:
    return _provider_class()(boto3_client=client)


def prepare() -> None:
    """Loads what reading a secret needs, for a function that reads one (the authorizer) to
    pay it while it starts rather than in its first request."""
    _provider_class()


def _provider_class() -> type[SecretsProvider]:
    # Imported here: only the authorizers read secrets, and every function imports this module
    # (through clientela.auth); Powertools' parameters utility is a sixth of `import boto3`.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415

    return SecretsProvider


def secret_value(name: str, *, max_age: int = DEFAULT_MAX_AGE_SECONDS) -> str:
    """The secret's current string value (name or ARN)."""
    return str(_provider(aws.client("secretsmanager")).get(name, max_age=max_age))
