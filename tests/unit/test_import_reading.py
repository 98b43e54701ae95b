"""Reading import files (exports/imports/rules): encodings, delimiters, aliases, zips, limits."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.exports.imports import rules
from chalicelib.exports.imports.rules import Reading, Unreadable, read_rows
from chalicelib.exports.imports.usecases import CHUNK_ROWS, _chunks
from clientela import csvsafe
from clientela_events.imports import ImportOptions, ImportRowsSubmittedV1


def read(data: bytes, **options: object) -> tuple[Reading, list[rules.Row]]:
    reading = Reading()
    rows = list(read_rows(io.BytesIO(data), reading, **options))  # type: ignore[arg-type]
    return reading, rows


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8 (BOM)"),
        ("cp1252", b"", "cp1252"),
        ("utf-16", b"", "utf-16"),
    ],
)
def test_each_encoding_reads_the_same_names(encoding: str, prefix: bytes, expected: str) -> None:
    text = (
        "email,first name,city\r\njose@example.com,José,São Paulo\r\nzoe@example.com,Zoë,Málaga\r\n"
    )
    reading, rows = read(prefix + text.encode(encoding))
    assert reading.encoding == expected
    assert [r.fields["first_name"] for r in rows] == ["José", "Zoë"]
    assert rows[1].fields["city"] == "Málaga"


def test_latin1_without_a_bom_is_detected() -> None:
    data = "email;nome;cidade\njoao@example.com;João;Goiânia\n".encode("latin-1")
    _, [row] = read(data)
    assert (row.fields["first_name"], row.fields["city"]) == ("João", "Goiânia")


def test_a_utf8_file_with_appended_windows_1252_lines_is_read_line_by_line() -> None:
    data = (
        "email,first name\nana@example.com,Ana Júlia\n".encode()
        + "b@example.com,Bérénice\n".encode("cp1252")
    )
    reading, rows = read(data)
    assert [r.fields["first_name"] for r in rows] == ["Ana Júlia", "Bérénice"]
    assert reading.encoding.startswith("mixed")
    assert reading.mixed_lines == 1


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed_from_the_header(delimiter: str) -> None:
    header = delimiter.join(["Email", "First Name", "Last Name", "City"])
    row = delimiter.join(["ana@example.com", "Ana", "Souza, Lima", "Porto"]).replace(
        "Souza, Lima", '"Souza, Lima"' if delimiter == "," else "Souza, Lima"
    )
    reading, [parsed] = read(f"{header}\n{row}\n".encode())
    assert reading.delimiter == delimiter
    assert parsed.fields["last_name"] == "Souza, Lima"


@pytest.mark.parametrize(
    ("header", "source", "fields"),
    [
        (
            "First Name,Last Name,Email,Accepts Email Marketing,Default Address City,"
            "Default Address Country Code,Phone,Accepts SMS Marketing,Total Spent,Tags,Note",
            "shopify",
            {"first_name", "last_name", "email", "email_consent", "city", "country", "phone"},
        ),
        (
            "Email Address,First Name,Last Name,Address,Phone Number,MEMBER_RATING,OPTIN_TIME,"
            "CC,REGION,TAGS,LEID",
            "mailchimp",
            {"email", "first_name", "last_name", "phone", "country", "region", "tags"},
        ),
        (
            "Email,First Name,Last Name,Phone Number,City,State / Region,Country,"
            "Email Marketing Consent,Email Marketing Consent Timestamp",
            "klaviyo",
            {"email", "phone", "region", "email_consent", "email_consent_at"},
        ),
        (
            "E-mail,Nome,Sobrenome,Telefone,Cidade,País",
            "generic",
            {"email", "last_name", "country"},
        ),
    ],
    ids=["shopify", "mailchimp", "klaviyo", "ours-pt-br"],
)
def test_header_aliases_of_each_origin(header: str, source: str, fields: set[str]) -> None:
    columns = rules.recognise(header.split(","))
    assert columns.source == source
    assert fields <= {f for f in columns.fields if f}


def test_mailchimps_yearless_birthday_column_is_left_out() -> None:
    columns = rules.recognise(["Email Address", "Birthday", "OPTIN_TIME"])
    assert columns.fields == ("email", None, None)
    assert "Birthday" in columns.ignored


def test_a_mapping_overrides_the_aliases_and_skips_columns() -> None:
    columns = rules.recognise(["Correo", "Email", "Nombre"], {"Correo": "email", "Email": ""})
    assert columns.fields == ("email", None, "first_name")
    assert rules.check_mapping({"Correo": "email", "x": "salary"}) == ["x"]


def test_without_an_email_or_phone_column_the_file_is_refused() -> None:
    with pytest.raises(Unreadable, match="no e-mail or phone column"):
        read(b"name,city\nAna,Porto\n")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"email\r\n", "no rows"),
        (b"%PDF-1.7\n\x00\x00\x01binary" * 10, "not text"),
        (b"PK\x03\x04 not really a zip", "zip cannot be read"),
    ],
)
def test_files_that_are_not_customers_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(Unreadable, match=reason):
        read(data)


def test_blank_lines_are_skipped_and_rows_keep_their_spreadsheet_numbers() -> None:
    _, rows = read(b"email\r\na@example.com\r\n\r\n,\r\nb@example.com\r\n")
    assert [r.row for r in rows] == [2, 5]


def test_our_exports_neutralised_cells_are_restored() -> None:
    cells = ["=1+2", "+351 912 345 678", "-Porto", "@home", "'quoted"]
    line = ",".join(csvsafe.neutralise(c) for c in cells)
    _, [row] = read(
        f"email,first name,phone,city,last name,notes\nx@example.com,{line}\n".encode(),
        restore=csvsafe.restore,
    )
    assert [row.fields[f] for f in ("first_name", "phone", "city", "last_name", "notes")] == cells


def mailchimp_zip(**members: str | bytes) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return archive.getvalue()


def test_a_mailchimp_zip_says_the_consent_by_its_files_stricter_lists_first() -> None:
    data = mailchimp_zip(
        **{
            "subscribed_members_export_9.csv": "Email Address,OPTIN_TIME\na@x.com,2026-01-01 10:00:00\n",
            "unsubscribed_members_export_9.csv": "Email Address,UNSUB_TIME\nb@x.com,2026-02-01 11:00:00\n",
            "cleaned_members_export_9.csv": "Email Address,CLEAN_TIME\n",
        }
    )
    reading, rows = read(data)
    assert [(r.fields["email"], r.fields["email_consent"]) for r in rows] == [
        ("b@x.com", "unsubscribed"),
        ("a@x.com", "subscribed"),
    ]
    assert rows[0].fields["email_consent_at"] == "2026-02-01 11:00:00"
    assert str(reading.files[0]["name"]).startswith("cleaned")
    assert reading.ignored == []  # the time columns were read, as the consent's time


def test_a_single_mailchimp_csv_says_its_consent_only_by_its_file_name() -> None:
    data = b"Email Address,First Name\na@x.com,A\n"
    _, [plain] = read(data)
    assert "email_consent" not in plain.fields  # never implied
    _, [named] = read(data, filename="unsubscribed_members_export_1.csv")
    assert named.fields["email_consent"] == "unsubscribed"


@pytest.mark.parametrize(
    "members",
    [
        {"subscribed_members_export_1.csv": b"Email Address\n" + b"a" * 30_000_000},
        {f"part{n}.csv": "Email Address\na@x.com\n" for n in range(rules.MAX_ZIP_MEMBERS + 1)},
        {"subscribed_members_export_1.csv": "Email Address\n", "inner.zip": b"PK"},
    ],
    ids=["ratio", "too-many-files", "not-a-csv"],
)
def test_zip_bombs_and_odd_zips_are_refused(members: dict[str, str | bytes]) -> None:
    with pytest.raises(Unreadable):
        read(mailchimp_zip(**members))


def test_a_zip_member_larger_than_its_header_says_is_refused() -> None:
    data = bytearray(
        mailchimp_zip(**{"subscribed_members_export_1.csv": "Email Address\n" + "a@x.com\n" * 50})
    )
    # Forge the central directory's uncompressed size down to 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(Unreadable):
        read(bytes(data))


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@given(st.lists(TEXT, min_size=1, max_size=6))
def test_any_text_cell_of_our_export_comes_back_as_it_was(cells: list[str]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["email", "notes"])
    writer.writerows([["x@example.com", csvsafe.neutralise(c)] for c in cells])
    _, rows = read(out.getvalue().encode("utf-8-sig"), restore=csvsafe.restore)
    assert len(rows) == len(cells)
    for row, cell in zip(rows, cells, strict=True):
        assert row.fields.get("notes", "") == (cell if cell.strip() else "")


@pytest.mark.parametrize("cell", ["a", '"\\' * 3000, "ção" * 3000])
def test_every_chunk_fits_in_one_event(cell: str) -> None:
    rows = (rules.Row(n, {"email": "a@example.com", "notes": cell}) for n in range(2, 1200))
    chunks = list(_chunks(rows))
    assert sum(len(c) for c in chunks) == 1198
    for chunk in chunks:
        assert len(chunk) <= CHUNK_ROWS
        event = ImportRowsSubmittedV1.model_validate(
            {
                "import_id": "x",
                "chunk": 0,
                "options": ImportOptions(update_existing=True),
                "rows": chunk,
            }
        )
        assert len(event.model_dump_json().encode()) < 200_000  # EventBridge takes 256 KB
