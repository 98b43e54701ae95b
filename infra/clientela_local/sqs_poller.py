"""An SQS event source mapping: receive a batch, invoke, delete what succeeded.

Failed messages are left alone: they come back after the queue's visibility timeout, and once
received more than the RedrivePolicy's maxReceiveCount, SQS (moto does this too) moves them to
the dead-letter queue. That is the retry policy on AWS as well, so nothing here counts retries.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING, Any

import boto3

from clientela_local.polling import Activity, MappingSettings, Poller, Target, failed_item_ids

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

log = logging.getLogger(__name__)

SQS_MAX_RECEIVE = 10


class SqsPoller(Poller):
    def __init__(
        self,
        target: Target,
        *,
        queue: str,
        batch_size: int,
        settings: MappingSettings,
        activity: Activity,
        interval: float,
        wait_seconds: int = 1,
    ) -> None:
        super().__init__(target, activity, interval)
        self.queue = queue
        self.batch_size = batch_size
        self.settings = settings
        # Short long-polls: quick to notice a message, quick to notice a stop.
        self.wait_seconds = wait_seconds
        self._sqs = boto3.client("sqs")
        self._queue_url: str | None = None
        self._queue_arn = ""
        self._missing_reported = False

    def poll_once(self) -> bool:
        if not self._resolve_queue():
            return False
        messages = self._receive()
        if not messages:
            return False
        ids = [m["MessageId"] for m in messages]
        result, raised = self.invoke({"Records": [self._record(m) for m in messages]})
        failed = set(ids) if raised else self._reported_failures(result, ids)
        self.log_batch(f"sqs:{self.queue}", len(messages), len(failed))
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        self._delete_messages(succeeded)
        if failed:
            log.warning(
                "%s: %d of %d messages failed; SQS redelivers them after the visibility timeout",
                self.target.label,
                len(failed),
                len(messages),
            )
        return True

    def _resolve_queue(self) -> bool:
        if self._queue_url is not None:
            return True
        try:
            url = self._sqs.get_queue_url(QueueName=self.queue)["QueueUrl"]
        except self._sqs.exceptions.QueueDoesNotExist:
            if not self._missing_reported:
                log.error("%s: queue %s does not exist", self.target.label, self.queue)
                self._missing_reported = True
            return False
        attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        self._queue_arn = attributes["Attributes"]["QueueArn"]
        self._queue_url = url
        return True

    def _receive(self) -> list[MessageTypeDef]:
        assert self._queue_url is not None
        messages: list[MessageTypeDef] = []
        wait = self.wait_seconds
        while len(messages) < self.batch_size:
            response = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(SQS_MAX_RECEIVE, self.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            messages.extend(received)
            if len(received) < SQS_MAX_RECEIVE:
                break
            wait = 0  # fill a large batch with what is already there; never wait twice
        return messages

    def _reported_failures(self, result: Any, ids: list[str]) -> set[str]:
        failed = failed_item_ids(result, ids)
        if not self.settings.report_batch_item_failures:
            if failed:
                log.warning(
                    "%s reported batch item failures, but its mapping does not enable "
                    "ReportBatchItemFailures: on AWS the whole batch would be deleted",
                    self.target.label,
                )
            return set()
        return set(ids) if failed is None else failed

    def _delete_messages(self, messages: list[MessageTypeDef]) -> None:
        assert self._queue_url is not None
        for start in range(0, len(messages), SQS_MAX_RECEIVE):
            chunk = messages[start : start + SQS_MAX_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )

    def _record(self, message: MessageTypeDef) -> dict[str, Any]:
        """One record of the event Lambda builds for an SQS batch."""
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: _lambda_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self.target.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record


def _lambda_attribute(value: MessageAttributeValueOutputTypeDef) -> dict[str, Any]:
    """SQS API attribute (PascalCase, raw bytes) -> Lambda event attribute (camelCase, base64)."""
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_b64(b) for b in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _b64(value["BinaryValue"])
    return attribute


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
