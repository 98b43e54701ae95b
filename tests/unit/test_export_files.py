"""Export files: columns, headers, and what a spreadsheet reads back from our CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.exports.exports.rules import (
    CsvWriter,
    JsonlWriter,
    UnknownField,
    XlsxWriter,
    columns_of,
    language_of,
)
from clientela.csvsafe import restore


class Closing(io.BytesIO):
    """A file that keeps its bytes after close (what S3 would hold)."""

    def close(self) -> None:
        self.kept = self.getvalue()
        super().close()


class Files:
    def __init__(self) -> None:
        self.opened: list[Closing] = []

    def open(self, number: int) -> IO[bytes]:
        assert number == len(self.opened)
        self.opened.append(Closing())
        return self.opened[-1]


ROW: dict[str, Any] = {
    "id": "0001234",
    "email": "ana@example.com",
    "phone": "+5511987654321",
    "postcode": "01310-100",
    "first_name": "=cmd|' /C calc'!A0",
    "birthday": "1990-02-03",
    "tags": ["vip", "-new"],
    "favorite": True,
    "orders_count": 3,
    "total_spent": "1234.50",
    "currency": "BRL",
    "created_at": "2026-11-23T12:00:00+00:00",
}
FIELDS = [
    "id",
    "email",
    "phone",
    "postcode",
    "first_name",
    "birthday",
    "tags",
    "favorite",
    "orders_count",
    "total_spent",
    "created_at",
]
NAMES = [c.name for c in columns_of("customers", FIELDS)]  # currency follows total_spent


def test_an_amount_brings_its_currency_and_unknown_fields_are_named() -> None:
    names = [c.name for c in columns_of("customers", ["total_spent", "email"])]
    assert names == ["total_spent", "currency", "email"]
    assert [c.name for c in columns_of("emails", None)] == ["email"]
    # The e-mails file has its one column: others are refused, not dropped without a word.
    with pytest.raises(UnknownField, match="id"):
        columns_of("emails", ["id", "phone"])
    with pytest.raises(UnknownField, match="password"):
        columns_of("customers", ["email", "password"])


@pytest.mark.parametrize(
    ("asked", "accept", "expected"),
    [
        (None, "pt-BR,pt;q=0.9,en;q=0.8", "pt-BR"),
        (None, "fr-FR, es;q=0.7, it;q=0.9", "it"),
        (None, "de", "en"),
        (None, None, "en"),
        ("es", "it", "es"),
        (None, "it;q=nonsense, es", "es"),
    ],
)
def test_the_language_of_the_headers(asked: str | None, accept: str | None, expected: str) -> None:
    assert language_of(asked, accept) == expected


def test_csv_is_utf8_with_bom_crlf_quoted_and_neutralised() -> None:
    files = Files()
    writer = CsvWriter(files, columns_of("customers", FIELDS), "it")
    writer.write([ROW, {"id": "2", "first_name": 'Ana "Bia"\r\nSouza'}])
    written = writer.close()
    data = files.opened[0].kept
    assert written.rows == [2]
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["Id", "E-mail", "Telefono"]
    first = dict(zip(NAMES, rows[1], strict=True))
    assert first["first_name"] == "'=cmd|' /C calc'!A0"
    assert restore(first["first_name"]) == ROW["first_name"]
    assert first["tags"] == "vip; -new"
    assert (first["total_spent"], first["currency"]) == ("1234.50", "BRL")
    assert first["created_at"] == "2026-11-23 12:00:00"
    assert rows[2][4] == 'Ana "Bia"\r\nSouza'


def test_csv_starts_a_new_file_with_its_header_past_the_limit() -> None:
    files = Files()
    writer = CsvWriter(files, columns_of("emails", None), "en", max_rows=3)
    writer.write({"email": f"p{n}@example.com"} for n in range(7))
    assert writer.close().rows == [3, 3, 1]
    texts = [f.kept.decode("utf-8-sig").split("\r\n") for f in files.opened]
    assert [t[0] for t in texts] == ["E-mail"] * 3
    assert texts[2][1] == "p6@example.com"


def test_an_empty_export_still_has_its_header() -> None:
    files = Files()
    writer = CsvWriter(files, columns_of("emails", None), "es")
    assert writer.close().rows == [0]
    assert files.opened[0].kept == "\ufeffCorreo electrónico\r\n".encode()


def test_xlsx_keeps_ids_phones_and_postcodes_text_dates_dates_amounts_numbers(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "out.xlsx")
    writer = XlsxWriter(path, columns_of("customers", FIELDS), "pt-BR", "customers", max_rows=2)
    writer.write([ROW, {**ROW, "id": "2"}, {**ROW, "id": "3", "total_spent": None}])
    written = writer.close()
    assert (written.rows, written.sheets) == ([2, 1], ["Clientes", "Clientes (2)"])

    book = openpyxl.load_workbook(path)
    sheet = book["Clientes"]
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Id", "E-mail", "Telefone"]
    cells = dict(zip(NAMES, sheet[2], strict=True))
    for name in ("id", "phone", "postcode", "first_name"):
        assert cells[name].data_type == "s", name  # text, never a number or a formula
    assert cells["id"].value == "0001234"
    assert cells["first_name"].value == ROW["first_name"]
    assert cells["birthday"].is_date and cells["birthday"].value == datetime(1990, 2, 3)  # noqa: DTZ001 - spreadsheets are naive
    assert cells["created_at"].value == datetime(2026, 11, 23, 12, 0)  # noqa: DTZ001 - UTC
    assert cells["total_spent"].data_type == "n" and cells["total_spent"].value == 1234.5
    assert cells["total_spent"].number_format == "#,##0.00"
    assert cells["currency"].value == "BRL"
    assert cells["orders_count"].value == 3
    assert cells["favorite"].value is True
    second = book["Clientes (2)"]
    assert second.freeze_panes == "A2"
    assert second.cell(row=2, column=1).value == "3"


def test_jsonl_keeps_the_owners_values() -> None:
    files = Files()
    writer = JsonlWriter(files, columns_of("customers", ["id", "tags"]))
    writer.write([ROW])
    writer.close()
    assert files.opened[0].kept == b'{"id": "0001234", "tags": ["vip", "-new"]}\n'


@given(st.lists(st.text(min_size=0, max_size=20), min_size=1, max_size=5))
def test_any_text_survives_our_csv_and_our_import_rule(values: list[str]) -> None:
    files = Files()
    writer = CsvWriter(files, columns_of("customers", ["first_name"]), "en")
    writer.write({"first_name": v} for v in values)
    writer.close()
    rows = list(csv.reader(io.StringIO(files.opened[0].kept.decode("utf-8-sig"), newline="")))
    assert [restore(row[0]) if row else "" for row in rows[1:]] == values


def test_dates_written_as_days() -> None:
    files = Files()
    writer = CsvWriter(files, columns_of("customers", ["birthday"]), "en")
    writer.write([{"birthday": date(2000, 1, 2).isoformat()}])
    writer.close()
    assert files.opened[0].kept.decode("utf-8-sig").split("\r\n")[1] == "2000-01-02"
