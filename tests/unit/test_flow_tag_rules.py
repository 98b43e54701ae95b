"""The tags a flow's tag request leaves on a customer (customers' profile rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.customers.profiles import rules as domain

_TAGS = st.lists(st.sampled_from(["vip", "new", "cart-abandoner", "staff", "b2b"]), max_size=5)


@given(_TAGS, _TAGS, _TAGS)
def test_applying_a_request_twice_is_applying_it_once(
    tags: list[str], add: list[str], remove: list[str]
) -> None:
    once = domain.tags_changed(sorted(set(tags)), add, remove)
    assert domain.tags_changed(once, add, remove) == once
    assert set(add) - set(remove) <= set(once)
    assert not set(remove) & set(once)
    assert set(once) - set(add) <= set(tags)


def test_tags_are_normalised_as_the_api_normalises_them() -> None:
    assert domain.tags_changed(["vip"], ["  Cart  Abandoner "], ["VIP"]) == ["cart abandoner"]


@pytest.mark.parametrize(
    ("tags", "add"),
    [([], ["a,b"]), ([], [" "]), ([f"t{i}" for i in range(domain.MAX_TAGS)], ["one-more"])],
)
def test_a_request_the_tags_cannot_take_is_refused(tags: list[str], add: list[str]) -> None:
    with pytest.raises(ValueError, match="tag"):
        domain.tags_changed(tags, add, [])
