"""Secret values from Secrets Manager, cached in memory for a few minutes per function."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from clientela import aws

DEFAULT_MAX_AGE_SECONDS = 300


@functools.cache
def _provider(client: Any) -> SecretsProvider:
    return SecretsProvider(boto3_client=client)


def secret_value(name: str, *, max_age: int = DEFAULT_MAX_AGE_SECONDS) -> str:
    """The secret's current string value (name or ARN)."""
    return str(_provider(aws.client("secretsmanager")).get(name, max_age=max_age))
