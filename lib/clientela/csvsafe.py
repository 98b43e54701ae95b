"""Text cells that spreadsheets would run as formulas, made inert, and restored on import.

A cell whose text begins with `=`, `+`, `-`, `@`, a tab, CR or LF may be evaluated by Excel,
LibreOffice or Google Sheets when a CSV is opened (OWASP "CSV injection"). Exports prefix such
a cell with a single quote; spreadsheets show the rest as plain text.

So that re-importing our own export gives back exactly what was exported, the rule is
reversible: a text that already begins with a quote gets one more, so `restore` can drop
exactly one leading quote when the next character is a trigger or a quote, and
`restore(neutralise(x)) == x` for every text `x`. Files from elsewhere keep their text: a
lone leading quote before anything else is left alone. Exports (CSV, and the XLSX text cells
as well, since a spreadsheet may be saved back as CSV) use `neutralise`; imports use `restore`.
"""

from __future__ import annotations

# What makes a spreadsheet read a cell as a formula (OWASP), and the escape itself.
TRIGGERS = frozenset("=+-@\t\r\n")
ESCAPE = "'"


def neutralise(text: str) -> str:
    """The cell as written to a file: inert in a spreadsheet, reversible by `restore`."""
    if text and (text[0] in TRIGGERS or text[0] == ESCAPE):
        return ESCAPE + text
    return text


def restore(text: str) -> str:
    """The value a cell of one of our exports stood for (the inverse of `neutralise`)."""
    if text.startswith(ESCAPE) and len(text) > 1 and (text[1] in TRIGGERS or text[1] == ESCAPE):
        return text[1:]
    return text
