"""Logs carry ids, never the personal data of customers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.service.conftest import Api

PERSONAL = {
    "email": "giulia.romano@example.it",
    "phone": "+393123456789",
    "first_name": "Giulia",
    "last_name": "Romanoski",
    "city": "Bergamo",
}


@pytest.fixture
def customers_log(apps: dict[str, Any]) -> Iterator[io.StringIO]:
    """What the customers service logs, in the JSON it writes on Lambda.

    Powertools bound its handler to the stdout of whichever test imported the app, so listen on
    the service's logger with the same formatter instead.
    """
    service_logger = logging.getLogger("customers")
    stream = io.StringIO()
    listener = logging.StreamHandler(stream)
    listener.setFormatter(service_logger.handlers[0].formatter)
    handlers, level = service_logger.handlers, service_logger.level
    service_logger.handlers = [listener]
    service_logger.setLevel(logging.DEBUG)  # setLevel also clears logging's level cache
    yield stream
    service_logger.handlers = handlers
    service_logger.setLevel(level)


def test_request_logs_name_the_store_and_never_the_customer(
    api: Api, store_id: str, customers_log: io.StringIO
) -> None:
    created = api.call("POST", "/customers", PERSONAL).body
    api.call("PATCH", f"/customers/{created['id']}", {"city": "Brescia"})
    api.call("POST", "/customers", {**PERSONAL, "email": "bad"})
    api.call("GET", f"/customers/{created['id']}")

    lines = [json.loads(line) for line in customers_log.getvalue().splitlines()]

    handled = [line for line in lines if line.get("message") == "request handled"]
    assert len(handled) == 4
    assert all(line["store_id"] == store_id for line in handled)
    assert all(line.get("correlation_id") for line in handled)
    text = json.dumps(lines, ensure_ascii=False)
    for value in [*PERSONAL.values(), "Brescia"]:
        assert value not in text


def test_handler_failures_log_no_input(
    apps: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    from clientela_local.lambda_context import new_context

    poison = {
        "messageId": "m1",
        "receiptHandle": "r",
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
        "body": json.dumps(
            {
                "detail-type": "customer.created",
                "source": "clientela.customers",
                "detail": {"metadata": {}, "data": {"customer": PERSONAL}},
            }
        ),
    }
    context = new_context("clientela-credits", "on_customer_event", region="us-east-1", account="1")

    # A batch whose every record failed is failed whole, so Lambda retries it (then the DLQ).
    with pytest.raises(BatchProcessingError) as failed:
        apps["credits"].on_customer_event({"Records": [poison]}, context)

    out = capfd.readouterr()
    assert "does not match its contract" in str(failed.value)
    for value in PERSONAL.values():
        assert value not in out.out + out.err + str(failed.value)
