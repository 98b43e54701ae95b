"""Reading a customer file, tolerantly and in constant memory: no AWS here.

A file is bytes from a stream. It is either a Mailchimp audience export (a zip of subscribed /
unsubscribed / cleaned CSVs) or one CSV in UTF-8 (with or without a BOM), UTF-16 (with its BOM),
Windows-1252 or Latin-1 (detected by charset-normalizer on a sample); `,` `;` tab or `|`
separated (the one that makes the header most recognisable). Headers are matched to the customer
fields through the aliases of our own export, Shopify's, Mailchimp's and Klaviyo's, or through
the mapping the user gave. Rows come out one at a time as the fields the customers service
checks (`ImportRow`): reading never decides whether a value is valid, the customers service
does, with the same rules as its API.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Literal, get_args

from clientela_events.imports import ImportField

# What a row may carry: the contract the customers service applies rows by.
FIELDS: tuple[str, ...] = get_args(ImportField)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
SAMPLE_BYTES = 64 * 1024
_BLOCK = 256 * 1024
# Zip bombs: a Mailchimp export holds three CSVs that compress maybe 5-10 times.
MAX_ZIP_MEMBERS = 10
MAX_ZIP_MEMBER_BYTES = 200 * 1024 * 1024
MAX_ZIP_TOTAL_BYTES = 300 * 1024 * 1024
MAX_ZIP_RATIO = 100
MAX_FIELD_CHARS = 10_000
DELIMITERS = (",", ";", "\t", "|")
Format = Literal["clientela", "shopify", "mailchimp", "klaviyo", "generic"]


class Unreadable(Exception):
    """The file cannot be read as customers: the reason is for the person who uploaded it."""


def header_key(text: str) -> str:
    """A header as compared with the aliases: no BOM, accents, case, or punctuation."""
    bare = unicodedata.normalize("NFKD", text.replace("\ufeff", ""))
    bare = "".join(c for c in bare if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", bare).split())


def _aliases(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {header_key(alias): name for name, aliases in table.items() for alias in aliases}


# Our own export (the customers export's headers in each of the store's languages, and the
# API's field names), then generic spellings.
_OURS = _aliases(
    {
        "email": ("email", "e-mail", "e-mail address", "correo electrónico", "endereço de e-mail"),
        "phone": ("phone", "telefone", "teléfono", "telefono", "mobile", "celular"),
        "first_name": ("first_name", "first name", "nome", "nombre", "given name"),
        "last_name": ("last_name", "last name", "sobrenome", "apellidos", "cognome", "surname"),
        "city": ("city", "cidade", "ciudad", "città"),
        "region": ("region", "estado", "provincia", "state"),
        "country": ("country", "país", "paese", "country code"),
        "gender": ("gender", "gênero", "género", "genere"),
        "birthday": ("birthday", "date of birth", "data de nascimento", "fecha de nacimiento"),
        "language": ("language", "idioma", "lingua"),
        "tags": ("tags", "etiquetas", "etichette"),
        "notes": ("notes", "notas", "note"),
        "email_consent": ("email_consent", "email consent", "e-mail consent"),
        "email_consent_at": ("email_consent_at", "email consent at", "email consent updated at"),
        "sms_consent": ("sms_consent", "sms consent"),
        "sms_consent_at": ("sms_consent_at", "sms consent at", "sms consent updated at"),
    }
)
_SHOPIFY = _aliases(
    {
        "email": ("Email",),
        "phone": ("Phone", "Default Address Phone"),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "city": ("Default Address City", "City"),
        "region": ("Default Address Province Code", "Province Code"),
        "country": ("Default Address Country Code", "Country Code"),
        "tags": ("Tags",),
        "notes": ("Note",),
        "email_consent": ("Accepts Email Marketing", "Accepts Marketing"),
        "sms_consent": ("Accepts SMS Marketing",),
    }
)
_MAILCHIMP = _aliases(
    {
        "email": ("Email Address",),
        "phone": ("Phone Number",),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "country": ("CC",),
        "region": ("REGION",),
        "tags": ("TAGS",),
        "notes": ("NOTES",),
        "language": ("LANGUAGE",),
    }
)
_KLAVIYO = _aliases(
    {
        "email": ("Email",),
        "phone": ("Phone Number",),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "city": ("City",),
        "region": ("State / Region",),
        "country": ("Country",),
        "email_consent": ("Email Marketing Consent",),
        "email_consent_at": ("Email Marketing Consent Timestamp",),
        "sms_consent": ("SMS Marketing Consent",),
        "sms_consent_at": ("SMS Marketing Consent Timestamp",),
    }
)
# Headers that only one of them writes: how the file's origin is recognised.
_SIGNATURES: dict[Format, frozenset[str]] = {
    "mailchimp": frozenset(
        map(header_key, ("Email Address", "MEMBER_RATING", "OPTIN_TIME", "LEID"))
    ),
    "shopify": frozenset(
        map(header_key, ("Accepts Email Marketing", "Accepts Marketing", "Total Spent"))
    ),
    "klaviyo": frozenset(
        map(header_key, ("Email Marketing Consent", "Klaviyo ID", "State / Region"))
    ),
}
_TABLES: dict[Format, dict[str, str]] = {
    # Mailchimp's birthday is `MM/DD`, with no year: not a date, so the column is left out
    # (rather than refusing every row that has one).
    "mailchimp": {**_OURS, **_MAILCHIMP, header_key("Birthday"): ""},
    "shopify": {**_OURS, **_SHOPIFY},
    "klaviyo": {**_OURS, **_KLAVIYO},
    "clientela": _OURS,
    "generic": {**_KLAVIYO, **_SHOPIFY, **_MAILCHIMP, **_OURS},
}
# Mailchimp says the consent by the file a member is in, and when in a column of that file.
MAILCHIMP_LISTS: tuple[tuple[str, str, str], ...] = (
    # (file name prefix, consent, the column with its time); stricter lists first: when a
    # person is in two, the earlier row wins, so an unsubscribe is never lost to a subscribe.
    ("cleaned", "cleaned", "CLEAN_TIME"),
    ("unsubscribed", "unsubscribed", "UNSUB_TIME"),
    ("subscribed", "subscribed", "OPTIN_TIME"),
)


@dataclass(frozen=True)
class Columns:
    """How the header was understood: the field of each column (None: ignored)."""

    fields: tuple[str | None, ...]
    source: Format
    ignored: tuple[str, ...]
    consent: str | None = None  # Mailchimp: the list the file is
    consent_at_column: int | None = None


def recognise(
    header: list[str], mapping: dict[str, str] | None = None, *, consent_list: str | None = None
) -> Columns:
    """The field of each column; the user's mapping (header -> field, or "" to skip) first."""
    keys = [header_key(h) for h in header]
    source: Format = "generic"
    for origin, signature in _SIGNATURES.items():
        if signature & set(keys):
            source = origin
            break
    if consent_list is not None:
        source = "mailchimp"
    table = _TABLES[source]
    given = {header_key(k): v for k, v in (mapping or {}).items()}
    fields: list[str | None] = []
    taken: set[str] = set()
    for key in keys:
        name = given[key] if key in given else table.get(key)
        if not name or name in taken:  # a second column of the same field is ignored
            fields.append(None)
            continue
        taken.add(name)
        fields.append(name)
    consent_at = None
    if consent_list is not None:
        time_column = next(col for prefix, _, col in MAILCHIMP_LISTS if prefix == consent_list)
        if header_key(time_column) in keys:
            consent_at = keys.index(header_key(time_column))
    if "email" not in taken and "phone" not in taken:
        raise Unreadable(
            "no e-mail or phone column was recognised in the header "
            "(name them, or give a column mapping)"
        )
    ignored = tuple(h for h, f in zip(header, fields, strict=True) if f is None and h.strip())
    return Columns(tuple(fields), source, ignored, consent_list, consent_at)


def check_mapping(mapping: dict[str, str]) -> list[str]:
    """The headers of a column mapping whose target is not a field (empty: valid)."""
    return [h for h, f in mapping.items() if f and f not in FIELDS]


# Decoding ---------------------------------------------------------------------------------------


@dataclass
class Decoding:
    encoding: str
    # Lines with text beyond ASCII, read as UTF-8 / as the 8-bit encoding: both means a mixed
    # file (a spreadsheet that appended to a UTF-8 file in Windows-1252, say).
    utf8_lines: int = 0
    other_lines: int = 0

    @property
    def mixed(self) -> bool:
        return self.utf8_lines > 0 and self.other_lines > 0


def detect_encoding(sample: bytes) -> str:
    """The encoding of the file, from its first bytes; Unreadable for what is not text."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not sample.strip():
        raise Unreadable("the file is empty")
    if b"\x00" in sample:
        raise Unreadable("the file is not text (binary content): upload a CSV or a Mailchimp zip")
    cut = sample.rfind(b"\n") if len(sample) >= SAMPLE_BYTES else len(sample)
    try:
        sample[: cut if cut > 0 else len(sample)].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Imported here, for a file not in UTF-8: not while every exports function starts.
    import charset_normalizer  # noqa: PLC0415

    best = charset_normalizer.from_bytes(
        sample, cp_isolation=["cp1252", "latin_1", "iso8859_15", "utf_8"]
    ).best()
    if best is None:
        raise Unreadable("the file is not text in a known encoding (UTF-8, Windows-1252, Latin-1)")
    return "cp1252" if best.encoding in ("ascii", "utf_8") else best.encoding


def _lines(stream: IO[bytes], first: bytes) -> Iterator[bytes]:
    """The stream's lines with their endings, a block at a time."""
    pending = first
    while True:
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
        block = stream.read(_BLOCK)
        if not block:
            break
        pending += block
    if pending:
        yield pending


def text_lines(stream: IO[bytes], decoding: Decoding, first: bytes) -> Iterator[str]:
    """Decoded lines. A UTF-8 file's line that is not UTF-8 is read as Windows-1252 and counted:
    spreadsheets that append to a file in another encoding make such mixed files."""
    if decoding.encoding == "utf-16":
        decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        chunk = first
        while True:
            text = decoder.decode(chunk)
            if text:
                yield from io.StringIO(text, newline="")
            chunk = stream.read(_BLOCK)
            if not chunk:
                break
        return
    fallback = "cp1252" if decoding.encoding.startswith("utf-8") else decoding.encoding
    start = True
    for raw in _lines(stream, first):
        line = raw.removeprefix(codecs.BOM_UTF8) if start else raw
        start = False
        if line.isascii():
            yield line.decode("ascii")
            continue
        # Line by line: UTF-8 first (an 8-bit text is almost never valid UTF-8 by chance).
        try:
            text = line.decode("utf-8")
            decoding.utf8_lines += 1
        except UnicodeDecodeError:
            text = line.decode(fallback, errors="replace")
            decoding.other_lines += 1
        yield text


def sniff_delimiter(header_line: str, mapping: dict[str, str] | None = None) -> str:
    """The delimiter that splits the header into the most recognised columns (then the most
    columns): robust where csv.Sniffer guesses from letters that happen to repeat."""
    known = {header_key(k) for k in (mapping or {})} | set(_TABLES["generic"])
    known |= {header_key(col) for _, _, col in MAILCHIMP_LISTS}

    def score(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([header_line], delimiter=delimiter))
        return sum(1 for c in cells if header_key(c) in known), len(cells)

    return max(DELIMITERS, key=score)


# Rows -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    # As a spreadsheet numbers it (the header is row 1); in a zip, its files one after another
    # (`Reading.files` gives each file's header row, to number a row within its file).
    row: int
    fields: dict[str, str]


@dataclass
class Reading:
    """What was learnt while reading, for the job (and the report)."""

    source: Format = "generic"
    encoding: str = ""
    delimiter: str = ","
    columns: dict[str, str] = field(default_factory=dict)  # header -> field
    ignored: list[str] = field(default_factory=list)
    files: list[dict[str, int | str]] = field(default_factory=list)  # zip: name, header row, last
    mixed_lines: int = 0  # lines in the file's less used encoding, when it mixes two
    rows: int = 0
    last_row: int = 0


def _csv_rows(  # noqa: PLR0912, PLR0917 - one pass over the file, kept in one place
    stream: IO[bytes],
    reading: Reading,
    mapping: dict[str, str] | None,
    restore: Callable[[str], str],
    first_row: int,
    consent_list: str | None = None,
) -> Iterator[Row]:
    sample = stream.read(SAMPLE_BYTES)
    decoding = Decoding(detect_encoding(sample))
    lines = text_lines(stream, decoding, sample)
    header_line = next(lines, "")
    delimiter = sniff_delimiter(header_line, mapping)
    reader = csv.reader(_chain([header_line], lines), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise Unreadable("the file is empty") from None
    columns = recognise(header, mapping, consent_list=consent_list)
    reading.source = columns.source
    encoding_name = decoding.encoding.replace("utf-8-sig", "utf-8 (BOM)")
    reading.delimiter = delimiter
    reading.columns.update({h: f for h, f in zip(header, columns.fields, strict=True) if f})
    consumed = {columns.consent_at_column} if columns.consent_at_column is not None else set()
    reading.ignored.extend(
        c
        for n, c in enumerate(header)
        if c in columns.ignored and n not in consumed and c not in reading.ignored
    )
    wanted = [(index, name) for index, name in enumerate(columns.fields) if name is not None]
    number = first_row + 1  # the header's row, as a spreadsheet numbers it
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue
            values: dict[str, str] = {}
            width = len(cells)
            for index, name in wanted:
                if index < width:
                    value = restore(cells[index])
                    if value.strip():
                        values[name] = value[:MAX_FIELD_CHARS]
            if columns.consent is not None:
                values["email_consent"] = columns.consent
                if columns.consent_at_column is not None and columns.consent_at_column < len(cells):
                    at = cells[columns.consent_at_column].strip()
                    if at:
                        values["email_consent_at"] = at
            reading.rows += 1
            reading.last_row = number
            yield Row(number, values)
    except csv.Error as exc:
        raise Unreadable(f"row {number + 1} cannot be read as CSV: {exc}") from None
    finally:
        if decoding.mixed:
            reading.mixed_lines += min(decoding.utf8_lines, decoding.other_lines)
            encoding_name = "mixed: utf-8 and cp1252, read line by line"
        elif decoding.other_lines and decoding.encoding.startswith("utf-8"):
            encoding_name = "cp1252"
        reading.encoding = encoding_name
    reading.last_row = number


def _chain(first: Iterable[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _mailchimp_list(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1].lower()
    return next((prefix for prefix, _, _ in MAILCHIMP_LISTS if base.startswith(prefix)), None)


def _zip_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = [i for i in archive.infolist() if not i.is_dir()]
    if len(members) > MAX_ZIP_MEMBERS:
        raise Unreadable(f"the zip holds {len(members)} files: at most {MAX_ZIP_MEMBERS}")
    total = 0
    for info in members:
        if not info.filename.lower().endswith(".csv"):
            raise Unreadable(f"the zip holds {info.filename!r}, which is not a CSV")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_ZIP_MEMBER_BYTES or ratio > MAX_ZIP_RATIO:
            raise Unreadable(
                f"{info.filename!r} expands {ratio:.0f} times to {info.file_size} bytes: "
                "refused as a zip bomb"
            )
        total += info.file_size
    if total > MAX_ZIP_TOTAL_BYTES:
        raise Unreadable(f"the zip expands to {total} bytes: at most {MAX_ZIP_TOTAL_BYTES}")
    order = {prefix: n for n, (prefix, _, _) in enumerate(MAILCHIMP_LISTS)}
    return sorted(
        members, key=lambda i: (order.get(_mailchimp_list(i.filename) or "", 9), i.filename)
    )


class _Bounded(io.RawIOBase):
    """A zip member that may not yield more than it declared (a forged header lies)."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self._inner, self._left = inner, limit

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(_BLOCK if size < 0 else size)
        self._left -= len(data)
        if self._left < 0:
            raise Unreadable("a file of the zip is larger than it says: refused as a zip bomb")
        return data


def read_rows(
    stream: IO[bytes],
    reading: Reading,
    *,
    filename: str = "",
    mapping: dict[str, str] | None = None,
    restore: Callable[[str], str] = lambda v: v,
) -> Iterator[Row]:
    """Every row of the upload, in order. `stream` must be seekable for a zip.

    Raises Unreadable (with the reason) for a file that is not customers; then the job fails
    and nothing is planned."""
    magic = stream.read(4)
    stream.seek(0)
    if magic != b"PK\x03\x04":
        consent = _mailchimp_list(filename) if filename.lower().endswith(".csv") else None
        yield from _csv_rows(stream, reading, mapping, restore, 0, consent)
        if not reading.rows:
            raise Unreadable("the file has a header but no rows")
        return
    try:
        archive = zipfile.ZipFile(stream)
        first = 0
        for info in _zip_members(archive):
            with archive.open(info) as member:
                bounded = _Bounded(member, info.file_size)
                yield from _csv_rows(
                    bounded,  # type: ignore[arg-type]
                    reading,
                    mapping,
                    restore,
                    first,
                    consent_list=_mailchimp_list(info.filename),
                )
                last = reading.last_row
            reading.files.append({"name": info.filename, "header_row": first + 1, "last_row": last})
            first = last
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise Unreadable(f"the zip cannot be read: {exc}") from None
    if not reading.rows:
        raise Unreadable("the zip's files have no rows")
