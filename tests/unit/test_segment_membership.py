"""Which segments a change moves a customer into or out of (segment.entered / exited)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.customers.segments.rules import Segment, membership_changes
from clientela.problems import FieldError
from tests.unit.test_segments import NOW, customer

VIP = Segment(id="01JQ0000000000000000000001", name="VIP", query=CustomerFilterQuery(tag=["vip"]))
SPAIN_BIG = Segment(
    id="01JQ0000000000000000000002",
    name="Spain, big",
    query=CustomerFilterQuery(country="ES", spent_min=Decimal(100)),
)
BROKEN = replace(VIP, id="01JQ0000000000000000000003", invalid=(FieldError("q", "blank"),))
SEGMENTS = [VIP, SPAIN_BIG, BROKEN]

profiles = st.builds(
    lambda tags, country, spent: customer(
        tags=tags, country=country, orders_count=1 if spent else 0, total_spent=Decimal(spent)
    ),
    st.lists(st.sampled_from(["vip", "staff", "new"]), unique=True).map(sorted),
    st.sampled_from(["ES", "PT", None]),
    st.sampled_from([0, 50, 100, 250]),
)


@given(profiles, profiles)
def test_a_change_enters_exactly_the_segments_matched_after_and_not_before(old, new) -> None:
    changes = dict(membership_changes(old, new, SEGMENTS, NOW))

    for segment in (VIP, SPAIN_BIG):
        flt = segment.filter(NOW)
        before, after = flt.matches(old), flt.matches(new)
        expected = None if before == after else ("entered" if after else "exited")
        assert changes.get(segment.id) == expected
    assert BROKEN.id not in changes  # a filter that cannot run has no members


@given(profiles, profiles)
def test_undoing_a_change_reverses_every_move(old, new) -> None:
    forth = membership_changes(old, new, SEGMENTS, NOW)
    back = membership_changes(new, old, SEGMENTS, NOW)

    flip = {"entered": "exited", "exited": "entered"}
    assert back == [(segment_id, flip[direction]) for segment_id, direction in forth]


@given(profiles)
def test_creation_enters_and_deletion_exits_every_matching_segment(profile) -> None:
    matching = [s.id for s in (VIP, SPAIN_BIG) if s.filter(NOW).matches(profile)]

    assert membership_changes(None, profile, SEGMENTS, NOW) == [(i, "entered") for i in matching]
    assert membership_changes(profile, None, SEGMENTS, NOW) == [(i, "exited") for i in matching]
    assert membership_changes(profile, profile, SEGMENTS, NOW) == []
