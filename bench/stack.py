"""The service apps in-process against a moto server provisioned like AWS, with the meter on.

Set up as the service tests do (tests/conftest.py): dummy credentials, a local AWS server,
`provision(endpoint)`, then `load_apps()`. The app uses the clients `clientela.aws.client()`
caches, so the hooks go on those.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.audit import BENCH_ACCESS_KEY, ServerLog
from bench.billing import DynamoDBBilling, Peek
from bench.meter import Meter
from bench.usage import Usage
from clientela_local.environment import in_process

REGION = "us-east-1"
ENVIRONMENT = in_process()
METERED_SERVICES = ("dynamodb", "events", "secretsmanager", "sqs")


@dataclass
class Measurement:
    """One operation, repeated `samples` times: what the clients did and what moto received."""

    name: str
    samples: int
    usage: Usage = field(default_factory=Usage)
    received: dict[str, int] = field(default_factory=dict)

    @property
    def unmetered(self) -> dict[str, int]:
        """Requests moto received that no hook counted (should be empty)."""
        metered = self.usage.requests
        return {k: n - metered[k] for k, n in self.received.items() if n > metered[k]}


class LocalStack:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.server_log = ServerLog(endpoint)
        self.apps: dict[str, Any] = {}  # service -> clientela_local.apps.LoadedApp
        self.meter = Meter(DynamoDBBilling(Peek(self.internal_client("dynamodb"))))

    def reset(self, stacks: tuple[str, ...] | None = None) -> None:
        """Empty moto, provision every resource (or those of `stacks`), load the apps afresh and
        meter their clients."""
        from clientela import aws  # noqa: PLC0415
        from clientela_local.apps import load_apps  # noqa: PLC0415
        from clientela_local.provision import provision  # noqa: PLC0415

        # moto keeps its state per process, not per server.
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=30).close()  # noqa: S310 - local moto
        aws.reset()
        if stacks is None:
            provision(self.endpoint)
        else:
            provision(self.endpoint, stacks=stacks)
        self.apps = {loaded.service: loaded for loaded in load_apps()}  # resets client cache
        self.meter = Meter(DynamoDBBilling(Peek(self.internal_client("dynamodb"))))
        for service in METERED_SERVICES:
            self.meter.instrument(aws.client(service))

    def internal_client(self, service: str, **config: Any) -> Any:
        """A client for the bench's own reads: unmetered, and left out of the server count."""
        session = boto3.session.Session(
            aws_access_key_id=BENCH_ACCESS_KEY,
            aws_secret_access_key="bench",  # noqa: S106 - moto does not check it
            region_name=REGION,
        )
        return session.client(service, endpoint_url=self.endpoint, config=Config(**config))  # type: ignore[call-overload]

    @contextmanager
    def measure(self, name: str, samples: int) -> Iterator[Measurement]:
        measurement = Measurement(name, samples)
        self.server_log.restart()
        with self.meter.measure() as usage:
            yield measurement
        measurement.usage = usage
        measurement.received = dict(self.server_log.requests())


@contextmanager
def local_stack() -> Iterator[LocalStack]:
    """A moto server for this process; call `reset()` before each use."""
    with tempfile.TemporaryDirectory(prefix="clientela-bench-") as scratch:
        # moto reads where to record when it is imported: set it first.
        os.environ["MOTO_RECORDER_FILEPATH"] = str(Path(scratch) / "moto-recording")
        os.environ.update(ENVIRONMENT)
        from clientela_local.local_aws import local_aws  # noqa: PLC0415

        with local_aws() as server:
            endpoint = server.endpoint_url
            os.environ.update(AWS_ENDPOINT_URL=endpoint, MOTO_PORT=str(server.port))
            yield LocalStack(endpoint)
