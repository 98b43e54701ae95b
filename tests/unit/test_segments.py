"""Segment rules, with no AWS in sight: built-in definitions, thresholds, memberships."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.customers.segments.rules import (
    BUILT_IN_IDS,
    InvalidParameter,
    Segment,
    Thresholds,
    built_in_named,
    built_in_segments,
    memberships,
    name_key,
    with_parameters,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def customer(**values: Any) -> domain.Customer:
    base: dict[str, Any] = {
        "id": "01JQ0000000000000000000000",
        "store_id": "s",
        "created_at": NOW - timedelta(days=400),
        "updated_at": NOW,
        "version": 1,
        "email": "ana@example.com",
    }
    return domain.Customer(**{**base, **values})


def by_id(thresholds: Thresholds | None = None) -> dict[str, Segment]:
    return {s.id: s for s in built_in_segments(thresholds or Thresholds(), NOW)}


def ids_of(c: domain.Customer, segments: list[Segment]) -> list[str]:
    return [ref.id for ref in memberships(c, segments, NOW)]


def test_built_ins_come_in_a_fixed_order_with_default_thresholds() -> None:
    segments = built_in_segments(Thresholds(), NOW)

    assert [s.id for s in segments] == [
        "new",
        "active_buyers",
        "top_spenders",
        "at_risk",
        "never_purchased",
        "email_subscribers",
    ]
    assert all(s.built_in for s in segments)
    flt = {s.id: s.filter(NOW) for s in segments}
    assert flt["new"].created_from == NOW - timedelta(days=30)
    assert flt["active_buyers"].last_order_after == NOW - timedelta(days=90)
    assert flt["top_spenders"].spent_min == Decimal(1000)
    assert flt["at_risk"].orders_min == 2
    assert flt["at_risk"].last_order_before == NOW - timedelta(days=90)
    assert flt["never_purchased"].never_ordered is True
    assert flt["email_subscribers"].email_consent == "subscribed"


def test_thresholds_redefine_the_built_ins() -> None:
    thresholds = Thresholds(
        new_days=7,
        active_days=30,
        top_spent_min=Decimal("250.50"),
        at_risk_orders_min=3,
        at_risk_days=60,
    )
    segments = by_id(thresholds)

    assert segments["new"].filter(NOW).created_from == NOW - timedelta(days=7)
    assert segments["new"].parameters == {"days": 7}
    assert segments["active_buyers"].filter(NOW).last_order_after == NOW - timedelta(days=30)
    assert segments["top_spenders"].filter(NOW).spent_min == Decimal("250.50")
    assert segments["top_spenders"].parameters == {"spent_min": Decimal("250.50")}
    at_risk = segments["at_risk"].filter(NOW)
    assert (at_risk.orders_min, at_risk.last_order_before) == (3, NOW - timedelta(days=60))
    assert segments["at_risk"].parameters == {"orders_min": 3, "days": 60}
    assert segments["never_purchased"].parameters == {}


def test_with_parameters_changes_only_the_segment_s_own_thresholds() -> None:
    changed = with_parameters(Thresholds(), "at_risk", {"days": 120, "orders_min": 4})

    assert changed == Thresholds(at_risk_days=120, at_risk_orders_min=4)
    assert with_parameters(Thresholds(), "top_spenders", {"spent_min": Decimal("99.9")}) == (
        Thresholds(top_spent_min=Decimal("99.9"))
    )


@pytest.mark.parametrize(
    ("segment_id", "given", "field"),
    [
        ("new", {"days": 0}, "parameters.days"),
        ("new", {"days": 366}, "parameters.days"),
        ("active_buyers", {"days": 731}, "parameters.days"),
        ("new", {"spent_min": 5}, "parameters.spent_min"),
        ("never_purchased", {"days": 5}, "parameters.days"),
        ("top_spenders", {"spent_min": Decimal("0.001")}, "parameters.spent_min"),
        ("top_spenders", {"spent_min": Decimal(0)}, "parameters.spent_min"),
        ("at_risk", {"orders_min": 1001}, "parameters.orders_min"),
    ],
)
def test_parameters_out_of_bounds_are_refused(
    segment_id: str, given: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidParameter) as refused:
        with_parameters(Thresholds(), segment_id, given)
    assert refused.value.field == field


def test_thresholds_read_back_from_a_stored_map() -> None:
    stored = {"new_days": Decimal(14), "top_spent_min": Decimal("500.25"), "unknown": 1}

    thresholds = Thresholds.of(stored)

    assert thresholds == Thresholds(new_days=14, top_spent_min=Decimal("500.25"))
    assert Thresholds.of(Thresholds(at_risk_days=45).as_map()) == Thresholds(at_risk_days=45)
    assert Thresholds.of(None) == Thresholds()


def test_memberships_follow_the_built_in_definitions() -> None:
    segments = list(by_id().values())
    newcomer = customer(created_at=NOW - timedelta(days=3))
    regular = customer(
        orders_count=5,
        total_spent=Decimal("1200.00"),
        last_order_at=NOW - timedelta(days=10),
        email_consent=domain.Consent(state="subscribed", opt_in_level="single"),
    )
    lapsed = customer(
        orders_count=2, total_spent=Decimal(80), last_order_at=NOW - timedelta(days=200)
    )
    once = customer(
        orders_count=1, total_spent=Decimal(10), last_order_at=NOW - timedelta(days=200)
    )

    assert ids_of(newcomer, segments) == ["new", "never_purchased"]
    assert ids_of(regular, segments) == ["active_buyers", "top_spenders", "email_subscribers"]
    assert ids_of(lapsed, segments) == ["at_risk"]
    assert ids_of(once, segments) == []


def test_boundaries_of_the_built_ins() -> None:
    segments = list(by_id().values())
    exactly_1000 = customer(
        orders_count=1, total_spent=Decimal("1000.00"), last_order_at=NOW - timedelta(days=1)
    )
    just_before = customer(
        orders_count=3,
        total_spent=Decimal(5),
        last_order_at=NOW - timedelta(days=90, microseconds=1),
    )

    assert ids_of(exactly_1000, segments) == ["active_buyers", "top_spenders"]
    assert ids_of(just_before, segments) == ["at_risk"]


def test_saved_segments_match_by_their_filter_in_the_order_given() -> None:
    vip = Segment(
        id="01JQ0000000000000000000001", name="VIP", query=CustomerFilterQuery(tag=["vip"])
    )
    spain = Segment(
        id="01JQ0000000000000000000002",
        name="Spain, big orders",
        query=CustomerFilterQuery(country="ES", spent_min=Decimal(100)),
    )
    segments = [*built_in_segments(Thresholds(), NOW), vip, spain]
    maria = customer(tags=["vip"], country="ES", orders_count=1, total_spent=Decimal(150))

    refs = memberships(maria, segments, NOW)

    assert [(r.id, r.name) for r in refs] == [
        ("01JQ0000000000000000000001", "VIP"),
        ("01JQ0000000000000000000002", "Spain, big orders"),
    ]
    assert memberships(replace(maria, country="PT"), [spain], NOW) == []


def test_names_compare_without_case() -> None:
    assert name_key("VIP Clientes") == name_key("vip clientes")
    assert name_key("Ação") != name_key("Acao")
    assert built_in_named("top SPENDERS") == "top_spenders"
    assert built_in_named("Top spenders 2") is None
    assert set(BUILT_IN_IDS) == {
        "new",
        "active_buyers",
        "top_spenders",
        "at_risk",
        "never_purchased",
        "email_subscribers",
    }
