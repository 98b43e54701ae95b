"""The local AWS server serialises DynamoDB requests, as DynamoDB's atomic writes require."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from clientela_local.local_aws import SerialisedDynamoDB


class _Overlap:
    """A WSGI app that records how many requests it ever saw at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self._guard = threading.Lock()

    def __call__(
        self, _environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        with self._guard:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self._guard:
            self.running -= 1
        start_response("200 OK", [])
        return [b"{}"]


def _send_together(app: SerialisedDynamoDB, target: str, count: int = 6) -> None:
    def one(_: int) -> list[bytes]:
        return list(app({"HTTP_X_AMZ_TARGET": target}, lambda *_: None))

    with ThreadPoolExecutor(max_workers=count) as pool:
        assert list(pool.map(one, range(count))) == [[b"{}"]] * count


@pytest.mark.parametrize(
    "target", ["DynamoDB_20120810.TransactWriteItems", "DynamoDBStreams_20120810.GetRecords"]
)
def test_dynamodb_requests_run_one_at_a_time(target: str) -> None:
    inner = _Overlap()
    _send_together(SerialisedDynamoDB(inner), target)
    assert inner.most == 1


def test_other_services_keep_running_concurrently() -> None:
    inner = _Overlap()
    _send_together(SerialisedDynamoDB(inner), "AWSEvents.PutEvents")
    assert inner.most > 1
