"""How the store reads DynamoDB's refusals: races, retries of our own writes, real conflicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.customers.errors import EmailAlreadyUsed, VersionMismatch, WriteConflict
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.store import CustomerStore, to_item

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ANA = Customer(
    id="01JD3Z6Q4W0W8Y5J3K2M1N0PQR",
    store_id="s1",
    created_at=AT,
    updated_at=AT,
    version=1,
    email="ana@example.com",
)


def _cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )


class FakeDynamo:
    """Answers writes with a given refusal and reads with given items (a port, not a mock)."""

    def __init__(self, refusal: ClientError, items: dict[str, dict[str, Any]]) -> None:
        self.refusal = refusal
        self.items = items

    def transact_write_items(self, **_: Any) -> None:
        raise self.refusal

    def put_item(self, **_: Any) -> None:
        raise self.refusal

    def get_item(self, *, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        item = self.items.get(Key["sk"]["S"])
        return {"Item": item} if item else {}


def _store(refusal: ClientError, items: dict[str, dict[str, Any]] | None = None) -> CustomerStore:
    return CustomerStore(FakeDynamo(refusal, items or {}), "t")  # type: ignore[arg-type]


def test_a_transaction_conflict_is_retryable() -> None:
    with pytest.raises(WriteConflict):
        _store(_cancelled("None", "TransactionConflict")).add(ANA)
    single = ClientError({"Error": {"Code": "TransactionConflictException"}}, "PutItem")
    with pytest.raises(WriteConflict):
        _store(single).add(Customer(**{**ANA.__dict__, "email": None, "phone": "+34612345678"}))


def test_a_retried_write_that_had_landed_is_a_success() -> None:
    stored = {"CUSTOMER#" + ANA.id: to_item(ANA)}
    _store(_cancelled("ConditionalCheckFailed", "ConditionalCheckFailed"), stored).add(ANA)


def test_the_version_is_judged_before_the_email() -> None:
    newer = {"CUSTOMER#" + ANA.id: to_item(Customer(**{**ANA.__dict__, "version": 3}))}
    with pytest.raises(VersionMismatch) as refused:
        _store(_cancelled("ConditionalCheckFailed", "ConditionalCheckFailed"), newer).add(ANA)
    assert refused.value.current_version == 3


def test_an_email_of_someone_else_is_taken_and_a_released_one_is_a_race() -> None:
    owned = {"EMAIL#ana@example.com": {"customer_id": {"S": "01JD3Z6Q4W0W8Y5J3K2M1N0OTH"}}}
    with pytest.raises(EmailAlreadyUsed) as taken:
        _store(_cancelled("None", "ConditionalCheckFailed"), owned).add(ANA)
    assert taken.value.existing_id == "01JD3Z6Q4W0W8Y5J3K2M1N0OTH"
    with pytest.raises(WriteConflict):
        _store(_cancelled("None", "ConditionalCheckFailed"), {}).add(ANA)
