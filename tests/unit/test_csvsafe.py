"""CSV injection: every dangerous text cell is made inert, and our import gets it back."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from clientela.csvsafe import TRIGGERS, neutralise, restore

dangerous = st.builds(
    lambda first, rest: first + rest, st.sampled_from(sorted(TRIGGERS | {"'"})), st.text()
)


@given(st.text())
def test_restore_gives_back_every_text(text: str) -> None:
    assert restore(neutralise(text)) == text


@given(dangerous)
def test_a_cell_beginning_with_a_trigger_begins_with_a_quote(text: str) -> None:
    assert neutralise(text).startswith("'")
    assert neutralise(text)[0] not in TRIGGERS


@given(st.text())
def test_safe_text_is_left_as_it_is(text: str) -> None:
    if not text or text[0] not in TRIGGERS | {"'"}:
        assert neutralise(text) == text


@given(st.lists(st.text(), min_size=1, max_size=6))
def test_a_row_survives_a_csv_round_trip(row: list[str]) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralise(cell) for cell in row])
    [read] = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert [restore(cell) for cell in read] == row


def test_known_payloads() -> None:
    assert neutralise('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert neutralise("+351 912 345 678") == "'+351 912 345 678"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("\tx") == "'\tx"
    assert restore("'plain") == "'plain"  # a file from elsewhere keeps its quote
