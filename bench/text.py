"""Plain-text tables: columns padded to their widest cell, numbers right-aligned."""

from __future__ import annotations

from collections.abc import Sequence


def number(value: float, digits: int = 2) -> str:
    """`3`, `0.5`, `1.25`, `17 034`: at most `digits` decimals, trailing zeros dropped."""
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", " ")


def _is_numeric(cell: str) -> bool:
    return cell.replace(" ", "").replace(".", "").replace("-", "").replace("x", "").isdigit()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, indent: int = 2) -> str:
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    numeric = [
        all(_is_numeric(str(row[i])) or row[i] in ("", "-") for row in rows) and bool(rows)
        for i in range(len(headers))
    ]

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(cell).rjust(width) if right else str(cell).ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ]
        return " " * indent + "  ".join(padded).rstrip()

    rule = " " * indent + "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def heading(title: str) -> str:
    return f"\n{title}\n{'=' * len(title)}"
