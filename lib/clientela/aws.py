"""boto3 clients, created on first use and reused.

Creating clients lazily keeps module import cheap (cold starts) and lets tests start their moto
mock before any client exists. `AWS_ENDPOINT_URL` (local stack) is honoured by boto3 itself.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3})


@functools.cache
def client(service_name: str) -> Any:
    return boto3.session.Session().client(service_name, config=_CONFIG)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    return client("dynamodb")  # type: ignore[no-any-return]


def events() -> EventBridgeClient:
    return client("events")  # type: ignore[no-any-return]


@functools.cache
def s3() -> S3Client:
    # Signature V4: what presigned URLs and POST policies need in every region (V2 is retired).
    config = _CONFIG.merge(Config(signature_version="s3v4"))
    return boto3.session.Session().client("s3", config=config)


def reset() -> None:
    """Forget every client (tests switch endpoints and mocks between runs)."""
    client.cache_clear()
    s3.cache_clear()
