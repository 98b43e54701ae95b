"""Export jobs' rules: which columns each kind has, their headers in the store's language, how
a cell is written to CSV, XLSX and JSON lines, and the writers that split at a sheet's limit.

Owners write rows as JSON objects with the column names below (amounts as decimal strings,
times as ISO 8601 in UTC, days as YYYY-MM-DD); these rules turn them into files. Nothing here
knows AWS: writers write to a binary sink (the store gives an S3 multipart upload).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import IO, Any, Literal, Protocol

from clientela.csvsafe import neutralise

Kind = Literal["customers", "emails", "wallets", "orders", "report"]
Format = Literal["csv", "xlsx", "jsonl"]
Language = Literal["en", "pt-BR", "es", "it"]
Status = Literal["running", "assembling", "done", "failed"]
CellType = Literal["text", "id", "phone", "postcode", "date", "datetime", "amount", "int", "bool"]

# Excel's rows per sheet, less the header row: above it, a second sheet (XLSX) or file (CSV).
MAX_ROWS_PER_SHEET = 1_048_575
# Files are deleted this long after the job is done (the bucket's lifecycle rule says 7 days).
RETENTION = timedelta(days=7)
LANGUAGES: tuple[Language, ...] = ("en", "pt-BR", "es", "it")
CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/x-ndjson",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: CellType
    # Headers: en, pt-BR, es, it.
    headers: tuple[str, str, str, str]

    def header(self, language: Language) -> str:
        return self.headers[LANGUAGES.index(language)]


def _c(name: str, kind: CellType, headers: str) -> Column:
    """A column; its headers in en|pt-BR|es|it."""
    en, pt, es, it = headers.split("|")
    return Column(name, kind, (en, pt, es, it))


_CUSTOMER_ID = _c("customer_id", "id", "Customer id|Id do cliente|Id de cliente|Id cliente")
_EMAIL = _c("email", "text", "E-mail|E-mail|Correo electrónico|E-mail")
_CURRENCY = _c("currency", "text", "Currency|Moeda|Moneda|Valuta")

COLUMNS: dict[str, tuple[Column, ...]] = {
    "customers": (
        _c("id", "id", "Id|Id|Id|Id"),
        _EMAIL,
        _c("phone", "phone", "Phone|Telefone|Teléfono|Telefono"),
        _c("first_name", "text", "First name|Nome|Nombre|Nome"),
        _c("last_name", "text", "Last name|Sobrenome|Apellidos|Cognome"),
        _c("city", "text", "City|Cidade|Ciudad|Città"),
        _c("region", "text", "Region|Estado|Región|Regione"),
        _c("postcode", "postcode", "Postcode|CEP|Código postal|CAP"),
        _c("country", "text", "Country|País|País|Paese"),
        _c("gender", "text", "Gender|Gênero|Género|Genere"),
        _c("birthday", "date", "Birthday|Aniversário|Cumpleaños|Compleanno"),
        _c("language", "text", "Language|Idioma|Idioma|Lingua"),
        _c("tags", "text", "Tags|Tags|Etiquetas|Tag"),
        _c("favorite", "bool", "Favourite|Favorito|Favorito|Preferito"),
        _c(
            "email_consent",
            "text",
            "E-mail consent|Consentimento de e-mail|Consentimiento de correo|Consenso e-mail",
        ),
        _c(
            "sms_consent",
            "text",
            "SMS consent|Consentimento de SMS|Consentimiento de SMS|Consenso SMS",
        ),
        _c("orders_count", "int", "Orders|Pedidos|Pedidos|Ordini"),
        _c("total_spent", "amount", "Total spent|Total gasto|Total gastado|Totale speso"),
        _CURRENCY,
        _c("first_order_at", "datetime", "First order|Primeiro pedido|Primer pedido|Primo ordine"),
        _c("last_order_at", "datetime", "Last order|Último pedido|Último pedido|Ultimo ordine"),
        _c(
            "last_seen_at",
            "datetime",
            "Last seen|Visto por último|Visto por última vez|Ultima visita",
        ),
        _c("created_at", "datetime", "Created|Criado em|Creado|Creato il"),
    ),
    "emails": (_EMAIL,),
    "orders": (
        _c("order_id", "id", "Order|Pedido|Pedido|Ordine"),
        _CUSTOMER_ID,
        _EMAIL,
        _c("kind", "text", "Kind|Tipo|Tipo|Tipo"),
        _c("status", "text", "Status|Situação|Estado|Stato"),
        _c("placed_at", "datetime", "Placed|Feito em|Realizado|Effettuato il"),
        _c("total", "amount", "Total|Total|Total|Totale"),
        _c("refunded_total", "amount", "Refunded|Reembolsado|Reembolsado|Rimborsato"),
        _CURRENCY,
        _c("items", "int", "Items|Itens|Artículos|Articoli"),
        _c("scheduled_at", "datetime", "Scheduled|Agendado para|Programado|Programmato"),
    ),
    "wallets": (
        _CUSTOMER_ID,
        _CURRENCY,
        _c("balance", "amount", "Balance|Saldo|Saldo|Saldo"),
        _c("bonus", "amount", "Bonus|Bônus|Bonificación|Bonus"),
        _c("cashback", "amount", "Cashback|Cashback|Reembolso|Cashback"),
        _c(
            "next_expiry",
            "datetime",
            "Next expiry|Próximo vencimento|Próximo vencimiento|Prossima scadenza",
        ),
        _c("lot_id", "id", "Lot|Lote|Lote|Lotto"),
        _c("lot_kind", "text", "Lot kind|Tipo do lote|Tipo de lote|Tipo di lotto"),
        _c("lot_amount", "amount", "Lot amount|Valor do lote|Importe del lote|Importo del lotto"),
        _c(
            "lot_remaining",
            "amount",
            "Lot remaining|Restante do lote|Restante del lote|Residuo del lotto",
        ),
        _c(
            "lot_created_at",
            "datetime",
            "Lot granted|Lote concedido em|Lote concedido|Lotto concesso il",
        ),
        _c("lot_expires_at", "datetime", "Lot expires|Lote vence em|Lote vence|Lotto scade il"),
    ),
    "report": (
        _EMAIL,
        _CUSTOMER_ID,
        _c("orders", "int", "Orders|Pedidos|Pedidos|Ordini"),
        _c("amount", "amount", "Amount|Valor|Importe|Importo"),
        _CURRENCY,
        _c("first_order_at", "datetime", "First order|Primeiro pedido|Primer pedido|Primo ordine"),
        _c("last_order_at", "datetime", "Last order|Último pedido|Último pedido|Ultimo ordine"),
    ),
}

DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "customers": (
        "id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "city",
        "country",
        "tags",
        "email_consent",
        "orders_count",
        "total_spent",
        "currency",
        "last_order_at",
        "created_at",
    ),
    "emails": ("email",),
    "orders": tuple(c.name for c in COLUMNS["orders"]),
    "wallets": tuple(c.name for c in COLUMNS["wallets"]),
    "report": tuple(c.name for c in COLUMNS["report"]),
}

SHEET_TITLES: dict[str, tuple[str, str, str, str]] = {
    "customers": ("Customers", "Clientes", "Clientes", "Clienti"),
    "emails": ("E-mails", "E-mails", "Correos", "E-mail"),
    "orders": ("Orders", "Pedidos", "Pedidos", "Ordini"),
    "wallets": ("Wallets", "Carteiras", "Monederos", "Portafogli"),
    "report": ("Report", "Relatório", "Informe", "Report"),
}


class UnknownField(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def columns_of(kind: str, fields: Sequence[str] | None) -> list[Column]:
    """The file's columns in the order asked (the kind's defaults if none); an amount without
    its currency gets the currency column after it, so no number is read in the wrong one.
    Raises UnknownField."""
    by_name = {c.name: c for c in COLUMNS[kind]}
    names = list(fields) if fields else list(DEFAULT_FIELDS[kind])
    for name in names:
        if name not in by_name:
            raise UnknownField(name)
    chosen = [by_name[n] for n in dict.fromkeys(names)]
    if any(c.type == "amount" for c in chosen) and "currency" not in names:
        last_amount = max(i for i, c in enumerate(chosen) if c.type == "amount")
        chosen.insert(last_amount + 1, by_name["currency"])
    return chosen


def language_of(asked: str | None, accept_language: str | None) -> Language:
    """The request's `language`, else the best of Accept-Language we have, else English."""
    if asked:
        return _match(asked) or "en"
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        found = _match(tag)
        if found:
            return found
    return "en"


def _match(tag: str) -> Language | None:
    primary = tag.strip().lower().split("-")[0]
    return {"en": "en", "pt": "pt-BR", "es": "es", "it": "it"}.get(primary)  # type: ignore[return-value]


# Cells -------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    # Spreadsheets have no time zones: times are UTC (the header of the README says so).
    return (
        moment.replace(tzinfo=None)
        if moment.tzinfo is None
        else (moment - (moment.utcoffset() or timedelta())).replace(tzinfo=None)
    )


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def csv_cell(column: Column, value: Any) -> str:
    """A CSV cell: numbers as they are, times as `YYYY-MM-DD HH:MM:SS` (UTC, what spreadsheets
    read as a date), every text neutralised (clientela.csvsafe)."""
    if value is None or value == "":
        return ""
    kind = column.type
    if kind in ("amount", "int") and not isinstance(value, bool):
        return str(value)
    if kind == "datetime":
        moment = _moment(value)
        if moment is not None:
            return moment.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "date":
        day = _day(value)
        if day is not None:
            return day.isoformat()
    return neutralise(_text(value))


# Writers -----------------------------------------------------------------------------------


class Sink(Protocol):
    """Where a file's bytes go (an S3 multipart upload, a local file in a test)."""

    def write(self, data: bytes) -> int: ...


class Files(Protocol):
    """Opens the files of one job: CSV may need more than one."""

    def open(self, number: int) -> IO[bytes]: ...


@dataclass
class Written:
    """What a writer made: each file's rows, and the sheets of the XLSX."""

    rows: list[int] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rows)


class CsvWriter:
    """UTF-8 with a BOM (Excel reads the encoding from it), CRLF, RFC 4180 quoting; a new file
    with its own header every MAX_ROWS_PER_SHEET rows."""

    def __init__(
        self,
        files: Files,
        columns: Sequence[Column],
        language: Language,
        *,
        max_rows: int = MAX_ROWS_PER_SHEET,
    ) -> None:
        self._files = files
        self._columns = list(columns)
        self._header = [neutralise(c.header(language)) for c in columns]
        self._max = max_rows
        self._written = Written()
        self._binary: IO[bytes] | None = None
        self._text: io.TextIOWrapper | None = None
        self._writer: Any = None

    def _next_file(self) -> None:
        self._close_file()
        self._binary = self._files.open(len(self._written.rows))
        self._text = io.TextIOWrapper(
            self._binary,
            encoding="utf-8-sig",
            newline="",
            write_through=False,
        )
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._writer.writerow(self._header)
        self._written.rows.append(0)

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        columns = self._columns
        for row in rows:
            if self._writer is None or self._written.rows[-1] >= self._max:
                self._next_file()
            self._writer.writerow([csv_cell(c, row.get(c.name)) for c in columns])
            self._written.rows[-1] += 1

    def _close_file(self) -> None:
        if self._text is not None:
            self._text.flush()
            self._text.detach()
            assert self._binary is not None
            self._binary.close()
            self._text = None

    def close(self) -> Written:
        if self._writer is None:
            self._next_file()  # an empty export still has its header
        self._close_file()
        return self._written


class XlsxWriter:
    """xlsxwriter in constant-memory mode (rows go to temporary files as written), strings never
    turned into formulas, URLs or numbers: ids, phones and postcodes stay text; dates are real
    dates, amounts numbers next to their currency; the header row frozen; a new sheet every
    MAX_ROWS_PER_SHEET rows."""

    def __init__(
        self,
        path: str,
        columns: Sequence[Column],
        language: Language,
        kind: str,
        *,
        max_rows: int = MAX_ROWS_PER_SHEET,
    ) -> None:
        # Imported here: only xlsx files need it, and every exports function imports this module
        # while it starts (root README, "Cold start").
        import xlsxwriter  # type: ignore[import-untyped]  # noqa: PLC0415

        self._book = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "default_date_format": "yyyy-mm-dd",
            },
        )
        self._columns = list(columns)
        self._language = language
        self._title = SHEET_TITLES[kind][LANGUAGES.index(language)]
        self._max = max_rows
        self._bold = self._book.add_format({"bold": True})
        self._day = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._money: dict[int, Any] = {}
        self._sheet: Any = None
        self._row = 0
        self._written = Written()

    def _money_format(self, places: int) -> Any:
        if places not in self._money:
            pattern = "#,##0" + ("." + "0" * places if places else "")
            self._money[places] = self._book.add_format({"num_format": pattern})
        return self._money[places]

    def _next_sheet(self) -> None:
        number = len(self._written.sheets) + 1
        name = self._title if number == 1 else f"{self._title} ({number})"
        self._sheet = self._book.add_worksheet(name)
        for index, column in enumerate(self._columns):
            self._sheet.write_string(0, index, column.header(self._language), self._bold)
            self._sheet.set_column(index, index, max(12, len(column.header(self._language)) + 2))
        self._sheet.freeze_panes(1, 0)
        self._written.sheets.append(name)
        self._written.rows.append(0)
        self._row = 0

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        columns = self._columns
        for row in rows:
            if self._sheet is None or self._row >= self._max:
                self._next_sheet()
            self._row += 1
            sheet, at = self._sheet, self._row
            for index, column in enumerate(columns):
                value = row.get(column.name)
                if value is None or value == "":
                    continue
                self._cell(sheet, at, index, column.type, value)
            self._written.rows[-1] += 1

    def _cell(self, sheet: Any, at: int, index: int, kind: str, value: Any) -> None:
        if kind == "amount":
            amount = _amount(value)
            if amount is not None:
                places = max(0, -amount.as_tuple().exponent)  # type: ignore[operator]
                # A spreadsheet's numbers are binary doubles: exact to 15 digits, which every
                # amount we hold (at most 14, money.MAX_DIGITS) fits in.
                sheet.write_number(at, index, float(amount), self._money_format(places))
                return
        elif kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            sheet.write_number(at, index, value)
            return
        elif kind == "bool" and isinstance(value, bool):
            sheet.write_boolean(at, index, value)
            return
        elif kind == "datetime":
            moment = _moment(value)
            if moment is not None:
                sheet.write_datetime(at, index, moment, self._time)
                return
        elif kind == "date":
            day = _day(value)
            if day is not None:
                sheet.write_datetime(at, index, day, self._day)
                return
        sheet.write_string(at, index, _text(value))

    def close(self) -> Written:
        if self._sheet is None:
            self._next_sheet()
        self._book.close()
        return self._written


class JsonlWriter:
    """One JSON object per line with the columns asked, values as the owner wrote them."""

    def __init__(self, files: Files, columns: Sequence[Column]) -> None:
        self._out = files.open(0)
        self._names = [c.name for c in columns]
        self._written = Written(rows=[0])

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        names, out = self._names, self._out
        count = 0
        for row in rows:
            line = json.dumps({n: row.get(n) for n in names}, ensure_ascii=False)
            out.write(line.encode() + b"\n")
            count += 1
        self._written.rows[0] += count

    def close(self) -> Written:
        self._out.close()
        return self._written


def read_rows(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The rows of a part (JSON lines), skipping blank lines."""
    for line in lines:
        if line.strip():
            yield json.loads(line)
