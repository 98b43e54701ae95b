"""Identifiers: ULIDs, so ids sort by creation time (newest-first lists need no extra index)."""

from __future__ import annotations

import re

from ulid import ULID

ID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id() -> str:
    return str(ULID())


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))
