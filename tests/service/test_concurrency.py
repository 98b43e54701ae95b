"""Concurrent writers never break the rules: one e-mail per store, no lost updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.customers.errors import EmailAlreadyUsed, VersionMismatch, WriteConflict
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.store import CustomerStore


def _race(calls: list[Any]) -> list[Any]:
    def attempt(call: Any) -> Any:
        try:
            return call()
        except (EmailAlreadyUsed, VersionMismatch) as error:
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(attempt, calls))


def test_racing_signups_with_one_email_make_one_customer(
    apps: dict[str, Any], store_id: str
) -> None:
    outcomes = _race(
        [
            lambda i=i: usecases.create_customer(
                store_id, {"email": "rush@example.com", "first_name": f"N{i}"}
            )
            for i in range(8)
        ]
    )

    created = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, EmailAlreadyUsed)]
    assert len(created) == 1
    assert len(refused) == 7
    assert {r.existing_id for r in refused} == {created[0].id}


def test_racing_patches_on_one_version_let_exactly_one_win(
    apps: dict[str, Any], store_id: str
) -> None:
    customer = usecases.create_customer(store_id, {"email": "race@example.com"})
    seen = usecases.Precondition(frozenset({customer.version}))

    outcomes = _race(
        [
            lambda i=i: usecases.update_customer(store_id, customer.id, {"city": f"City {i}"}, seen)
            for i in range(6)
        ]
    )

    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(winners) == 1
    assert all(isinstance(o, VersionMismatch) for o in outcomes if o not in winners)
    stored = usecases.get_customer(store_id, customer.id)
    assert (stored.city, stored.version) == (winners[0].city, 2)


def test_patches_without_if_match_all_land(apps: dict[str, Any], store_id: str) -> None:
    customer = usecases.create_customer(store_id, {"email": "many@example.com"})

    outcomes = _race(
        [
            lambda i=i: usecases.update_customer(
                store_id, customer.id, {"tags": [f"t{i}"]}, usecases.Precondition()
            )
            for i in range(3)
        ]
    )

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert usecases.get_customer(store_id, customer.id).version == 4


def test_a_write_that_loses_a_race_is_retried_then_reported_as_busy(
    apps: dict[str, Any], store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = usecases.create_customer(store_id, {"email": "busy@example.com"})
    real_replace = CustomerStore.replace
    losses = iter([True])  # DynamoDB reports a TransactionConflict once, then lets it through

    def replace(self: CustomerStore, *args: Any, **kwargs: Any) -> None:
        if next(losses, False):
            raise WriteConflict
        real_replace(self, *args, **kwargs)

    monkeypatch.setattr(CustomerStore, "replace", replace)
    updated = usecases.update_customer(
        store_id, customer.id, {"city": "Cuzco"}, usecases.Precondition()
    )
    assert (updated.city, updated.version) == ("Cuzco", 2)

    losses = iter([True] * 10)
    with pytest.raises(WriteConflict):
        usecases.update_customer(store_id, customer.id, {"city": "Lima"}, usecases.Precondition())
    assert usecases.get_customer(store_id, customer.id).city == "Cuzco"
