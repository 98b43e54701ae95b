"""Event source mappings, locally: the pollers that feed SQS and DynamoDB Streams to handlers.

On AWS a Lambda event source mapping polls a queue or a stream and invokes the function with a
batch. moto has no such thing, so each mapping an app declares (`app.event_sources`) becomes a
daemon thread here, configured from the mapping's properties in the service's merge template.
A new handler therefore needs no change to the local stack. `Pollers.wait_idle()` lets tests
wait for the system to settle instead of sleeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from clientela_local.apps import REPO_ROOT, LoadedApp
from clientela_local.polling import (
    POLL_INTERVAL_SECONDS,
    Activity,
    Poller,
    Target,
    mapping_settings,
)
from clientela_local.sqs_poller import SqsPoller
from clientela_local.stream_poller import StreamPoller

log = logging.getLogger(__name__)


class Pollers:
    """Every mapping of every loaded app, started and stopped together."""

    def __init__(
        self,
        apps: Iterable[LoadedApp],
        *,
        region: str,
        account: str,
        infra_dir: Path = REPO_ROOT / "infra",
        interval: float = POLL_INTERVAL_SECONDS,
        sqs_wait_seconds: int = 1,
    ) -> None:
        self.activity = Activity()
        self.pollers: list[Poller] = []
        for loaded in apps:
            template = infra_dir / f"{loaded.service}.yaml"
            for source in loaded.app.event_sources:
                if isinstance(source, ScheduledEventConfig):
                    continue  # the clock fires these (and they have no batch size)
                handler = source.handler_string.rsplit(".", 1)[-1]
                target = Target(loaded, handler, region, account)
                common: dict[str, Any] = {
                    "batch_size": source.batch_size,
                    "settings": mapping_settings(template, handler),
                    "activity": self.activity,
                    "interval": interval,
                }
                if isinstance(source, SQSEventConfig):
                    queue = source.queue or str(source.queue_arn).rsplit(":", 1)[-1]
                    poller: Poller = SqsPoller(
                        target, queue=queue, wait_seconds=sqs_wait_seconds, **common
                    )
                elif isinstance(source, DynamoDBEventConfig):
                    poller = StreamPoller(
                        target,
                        stream_arn=source.stream_arn,
                        starting_position=source.starting_position,
                        **common,
                    )
                else:
                    log.warning(
                        "%s.%s: %s is not run by the local stack",
                        loaded.service,
                        handler,
                        type(source).__name__,
                    )
                    continue
                self.pollers.append(poller)

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()

    def stop(self, timeout: float = 10.0) -> None:
        for poller in self.pollers:
            poller.stop()
        self.activity.bump()  # ends every rest
        for poller in self.pollers:
            poller.join(timeout)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Returns once every queue and stream is drained and no handler is running.

        Messages waiting out a visibility timeout after a failure do not count as work: they are
        not receivable yet. Raises TimeoutError if the system does not settle in time.
        """
        mark = self.activity.bump()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.activity.value
            if current >= mark and all(p.idle_since == current for p in self.pollers):
                return
            time.sleep(0.05)
        busy = [p.name for p in self.pollers if p.idle_since != self.activity.value]
        raise TimeoutError(f"still busy after {timeout}s: {', '.join(busy)}")
