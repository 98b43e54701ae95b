"""How many shards a store gets for its size, and when its size is worth reading again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.customers import keys
from chalicelib.customers.profiles.rules import (
    CUSTOMERS_PER_SHARD,
    MAX_SHARDS,
    growth_check_due,
    shards_for,
)

SIZES = st.integers(min_value=0, max_value=200 * CUSTOMERS_PER_SHARD)


def test_small_stores_stay_at_one_shard_and_a_10m_store_gets_16() -> None:
    assert shards_for(0) == shards_for(1) == shards_for(CUSTOMERS_PER_SHARD) == 1
    assert shards_for(CUSTOMERS_PER_SHARD + 1) == 2
    assert shards_for(10_000_000) == 16
    assert shards_for(10**12) == MAX_SHARDS


@given(SIZES, SIZES)
def test_shards_are_powers_of_two_that_hold_the_store_and_never_shrink_as_it_grows(
    a: int, b: int
) -> None:
    small, large = sorted((a, b))
    shards = shards_for(large)

    assert shards & (shards - 1) == 0 and 1 <= shards <= MAX_SHARDS
    assert shards_for(small) <= shards
    assert shards * CUSTOMERS_PER_SHARD >= large or shards == MAX_SHARDS
    # No more than needed: half as many would not hold it.
    assert shards == 1 or (shards // 2) * CUSTOMERS_PER_SHARD < large


STEP = CUSTOMERS_PER_SHARD // 4


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=STEP // 50, max_value=STEP))
def test_a_shard_s_counter_asks_for_a_check_once_per_step_whatever_its_batches(
    start: int, batch: int
) -> None:
    step = STEP
    end = start + 3 * step
    checks = sum(
        growth_check_due(count, min(count + batch, end)) for count in range(start, end, batch)
    )

    assert checks == end // step - start // step == 3
    assert not growth_check_due(end, end) and not growth_check_due(end, start)


def test_only_a_shard_s_counters_name_their_store() -> None:
    assert keys.counts_store(keys.counts_pk("s-1", 3)) == "s-1"
    assert keys.counts_store("STORE#s-1#CUSTOMER#01J") is None
    assert keys.counts_store("STORE#s-1#COUNT#x") is None
    assert keys.counts_store("STORE##COUNT#0") is None
