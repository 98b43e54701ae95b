"""The customers service's privacy area against moto: tombstones, erasure, access contribution."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.service.conftest import Api


@pytest.fixture
def privacy(apps: dict[str, Any]) -> Any:
    from chalicelib.customers.privacy import usecases

    return usecases


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_is_erased_after_tombstones_and_only_for_the_erased_details(
    privacy: Any, store_id: str
) -> None:
    assert not privacy.is_erased(store_id, email="gone@example.com", phone="+5511987654321")
    written = privacy.write_tombstones(
        store_id, email="Gone@Example.com", phone="+55 11 98765-4321", request_id="r1", at=NOW
    )
    assert written == 2
    assert privacy.is_erased(store_id, email="GONE@example.com", phone=None)
    assert privacy.is_erased(store_id, email=None, phone="+5511987654321")
    assert privacy.is_erased(store_id, email="other@example.com", phone="+5511987654321")
    assert not privacy.is_erased(store_id, email="other@example.com", phone="+5511912345678")
    assert not privacy.is_erased(store_id, email=None, phone=None)
    # Tenancy: another store never sees this store's tombstones.
    assert not privacy.is_erased(store_id + "x", email="gone@example.com", phone=None)
    # Redelivery: writing the same tombstones again changes nothing and does not fail.
    again = privacy.write_tombstones(
        store_id, email="gone@example.com", phone=None, request_id="r2", at=NOW
    )
    assert again == 1


def test_post_customers_refuses_an_erased_email_or_phone_with_409(
    privacy: Any, api: Api, store_id: str
) -> None:
    privacy.write_tombstones(
        store_id, email="erased@example.com", phone="+5511987654321", request_id="r1", at=NOW
    )
    refused = api.call("POST", "/customers", {"email": "Erased@Example.com", "first_name": "A"})
    assert refused.status == 409
    assert refused.body["type"].endswith("erased-person")
    assert {e["field"] for e in refused.body["errors"]} == {"email", "phone"}
    # A national number read in the customer's country is the same phone.
    national = api.call("POST", "/customers", {"phone": "(11) 98765-4321", "country": "BR"})
    assert national.status == 409
    listed = api.call("GET", "/customers?q=erased")
    assert listed.body["items"] == []
    assert api.call("POST", "/customers", {"email": "kept@example.com"}).status == 201
