"""Every console message exists in the four languages, with the same placeholders, and every
message a screen asks for by name exists."""

from __future__ import annotations

import ast
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


def _codes_given(source: Path, callee: str) -> set[str]:
    """The codes a module gives its refusals: the last string argument of each `callee(...)`
    (a literal, so a new refusal without a console message fails here)."""
    codes = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == callee
            and len(node.args) >= 3  # (field, reason, code)
            and isinstance(node.args[-1], ast.Constant)
        ):
            codes.add(str(node.args[-1].value))
    return codes


def test_every_flow_fault_and_report_period_code_has_a_message() -> None:
    services = CONSOLE.parent / "services"
    flow_rules = services / "automation/chalicelib/automation/flows/rules.py"
    flow_codes = _codes_given(flow_rules, "Fault") | _codes_given(flow_rules, "need")
    assert len(flow_codes) > 20, flow_codes  # the scan found them
    assert "invalid" not in flow_codes
    flow = json.loads((CONSOLE / "i18n/flow.json").read_text())["en"]
    assert {c for c in flow_codes if f"flow.fault.{c}" not in flow} == set()
    reports = services / "customers/chalicelib/customers/orders/reports/routes.py"
    assert _codes_given(reports, "FieldError") >= {"period_required", "period_reversed"}
    assert {"reports.period.required", "reports.period.reversed"} <= _all_keys()
