"""Drives flows against a moto server with Step Functions executing: events go on
the bus (its rule delivers to the flows queue), the queues are drained into the app's handlers
as Lambda would, and time moves only when a test fires the timers with a chosen time."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto.ses.models import ses_backends
from pydantic import BaseModel

from clientela.events import OutgoingEvent, publish
from clientela_local.executions import Executions
from clientela_local.lambda_context import new_context

REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's


class FlowsDriver:
    def __init__(self, module: Any, store_id: str) -> None:
        self.module = module
        self.store_id = store_id
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.executions = Executions()
        # Executions of earlier tests on the same server are left out of `settle`: they wait.
        self.since = datetime.now(UTC) - timedelta(seconds=1)
        self.invocations: dict[str, int] = {}  # handler -> Lambda invocations (batches)
        self.records: dict[str, int] = {}  # handler -> messages handled

    def publish(
        self, event_type: str, data: BaseModel, at: datetime, event_id: uuid.UUID | None = None
    ) -> uuid.UUID:
        """Puts an event on the bus as its publisher would (the rule delivers it to the queue)."""
        event_id = event_id or uuid.uuid4()
        event = OutgoingEvent(event_type, 1, event_id, self.store_id, at, data)
        assert publish([event]) == []
        return event_id

    def _url(self, queue: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=queue)["QueueUrl"])

    def _drain(self, queue: str, handler: str) -> int:
        url = self._url(queue)
        handled = 0
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return handled
            records = [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:{DEFAULT_ACCOUNT_ID}:{queue}",
                    "awsRegion": REGION,
                }
                for m in messages
            ]
            context = new_context(
                "clientela-automation", handler, region=REGION, account=DEFAULT_ACCOUNT_ID
            )
            result = getattr(self.module, handler)({"Records": records}, context)
            self.invocations[handler] = self.invocations.get(handler, 0) + 1
            self.records[handler] = self.records.get(handler, 0) + len(records)
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            assert not failed, f"{handler} failed on {len(failed)} messages"
            for m in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            handled += len(messages)

    def drain_events(self) -> int:
        return self._drain("clientela-automation-flow-events", "on_flow_event")

    def drain_steps(self) -> int:
        """The steps queue alone (a scheduled flow's fan-out pages, with executions not run)."""
        return self._drain("clientela-automation-flow-steps", "on_flow_step")

    def settle(self, rounds: int = 2000) -> None:
        """Until no queue holds anything and every execution waits on a token (or ended)."""
        quiet = 0
        for _ in range(rounds):
            handled = self._drain("clientela-automation-flow-events", "on_flow_event")
            handled += self._drain("clientela-automation-flow-steps", "on_flow_step")
            if handled == 0 and not self.executions.moving(self.since):
                quiet += 1
                if quiet >= 2:
                    return
            else:
                quiet = 0
        raise AssertionError("the flows never settled")

    def fire_timers(self, at: datetime) -> Any:
        """What the every-minute rule does at `at` (the clock's time, not the machine's)."""
        return self._fire("fire_due_timers", at)

    def fire_dates(self, at: datetime) -> Any:
        """What the hourly date-trigger rule does at `at`."""
        return self._fire("fire_date_triggers", at)

    def fire_schedules(self, at: datetime) -> Any:
        """What the every-minute scheduled-flows rule does at `at` (then the fan-out drains)."""
        return self._fire("fire_flow_schedules", at)

    def _fire(self, handler: str, at: datetime) -> Any:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": DEFAULT_ACCOUNT_ID,
            "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
            "detail": {},
        }
        context = new_context(
            "clientela-automation", handler, region=REGION, account=DEFAULT_ACCOUNT_ID
        )
        result = getattr(self.module, handler)(event, context)
        self.invocations[handler] = self.invocations.get(handler, 0) + 1
        self.settle()
        return result


def sent_mail_to(address: str) -> Iterator[dict[str, Any]]:
    """Every message moto's SES sent to `address` (raw mails parsed by the caller)."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    for message in backend.sent_messages:
        destinations = getattr(message, "destinations", None) or {}
        found = json.dumps(destinations, default=str)
        if address in found or address in str(getattr(message, "raw_data", "")):
            yield {"message": message, "raw": str(getattr(message, "raw_data", ""))}
