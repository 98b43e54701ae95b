"""Every console message exists in the four languages, with the same placeholders, and every
message a screen asks for by name exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "console"
LANGUAGES = {"en", "pt-BR", "es", "it"}
BUNDLES = sorted((CONSOLE / "i18n").glob("*.json"))
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# t("customers.title") and t('x.y', {...}): keys named literally in the code.
CALL = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_.-]+)["']""")


def _placeholders(message: Any) -> set[str]:
    if isinstance(message, dict):
        return set().union(*(_placeholders(form) for form in message.values()))
    return set(PLACEHOLDER.findall(message))


def _all_keys() -> set[str]:
    keys: set[str] = set()
    for bundle in BUNDLES:
        keys |= set(json.loads(bundle.read_text())["en"])
    return keys


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.stem)
def test_each_bundle_speaks_every_language_with_the_same_keys(bundle: Path) -> None:
    messages = json.loads(bundle.read_text())
    assert set(messages) == LANGUAGES
    english = messages["en"]
    for language in LANGUAGES - {"en"}:
        assert set(messages[language]) == set(english), language
        for key, text in messages[language].items():
            assert _placeholders(text) == _placeholders(english[key]), (language, key)
            if isinstance(text, dict):
                assert "other" in text, (language, key)
            else:
                assert text.strip(), (language, key)


def test_no_key_is_defined_by_two_bundles() -> None:
    seen: dict[str, str] = {}
    for bundle in BUNDLES:
        for key in json.loads(bundle.read_text())["en"]:
            assert key not in seen, f"{key} in {seen.get(key)} and {bundle.stem}"
            seen[key] = bundle.stem


def test_every_message_the_code_names_exists() -> None:
    known = _all_keys()
    missing = {
        f"{script.relative_to(CONSOLE)}: {key}"
        for script in CONSOLE.rglob("*.js")
        for key in CALL.findall(script.read_text())
        if key not in known
    }
    assert not missing, sorted(missing)
