"""The access file (exports/privacy/files/rules) and the request's rules (exports/privacy/rules):
XML valid against the schema we ship, every value escaped, deadlines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.exports.privacy import rules
from chalicelib.exports.privacy.files.rules import (
    NAMESPACE,
    Schema,
    UnsupportedSchema,
    render_html,
    render_json,
    render_xml,
    schema,
)
from chalicelib.exports.privacy.rules import Answer

HOSTILE = "<script>alert(\"x\")</script> & 'quotes' ]]> \x00\x07 \ufeff é"
WHEN = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def document(part: Any = None) -> dict[str, Any]:
    meta = {
        "id": "prv-01JD46P1R2Q3S4T5V6W7X8Y9Z0",
        "kind": "access",
        "customer_id": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR",
        "requested_at": WHEN.isoformat(),
        "generated_at": WHEN.isoformat(),
        "deadlines": {"gdpr": "2026-02-28T10:00:00+00:00", "lgpd": "2026-02-15T10:00:00+00:00"},
    }
    parts: dict[str, Any] = {
        "customers": part
        if part is not None
        else {
            "profile": {"email": "ana@example.com", "first_name": HOSTILE, "tags": ["vip"]},
            "orders": [{"order_id": "BR-1", "total": "120.50", "counted": True}],
            "weird key <&>": None,
            "count": 3,
        },
        "credits": {"lots": [], "wallet": None},
        "automation": None,
        "exports": {"privacy_requests": []},
    }
    return rules.assemble(meta, parts)


def test_the_xml_is_valid_against_the_schema_and_keeps_every_value() -> None:
    body = render_xml(document())
    assert schema().validate(body) == []
    root = ET.fromstring(body)  # noqa: S314 - our own output
    ns = {"a": NAMESPACE}
    sections = [s.get("name") for s in root.findall("a:article15/a:section", ns)]
    assert sections == ["purposes", "categories", "recipients", "retention", "source"]
    [name] = root.findall(".//a:string[@name='first_name']", ns)
    # Escaped on the way out, the same text (less what XML cannot hold) on the way back in.
    assert name.text == HOSTILE.replace("\x00", "\ufffd").replace("\x07", "\ufffd")
    assert root.findall(".//a:null[@name='weird key <&>']", ns)
    assert root.find(".//a:boolean[@name='counted']", ns).text == "true"  # type: ignore[union-attr]


def test_the_json_carries_the_article_15_sections_and_the_parts() -> None:
    data = json.loads(render_json(document()))
    assert set(data["article_15"]) == {
        "purposes",
        "categories",
        "recipients",
        "retention",
        "source",
    }
    assert data["data"]["customers"]["profile"]["first_name"] == HOSTILE
    assert list(data["data"]) == ["customers", "credits", "automation", "exports"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, _attrs: Any) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_every_value_and_key_and_runs_nothing() -> None:
    page = render_html(document()).decode()
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "weird key &lt;&amp;&gt;" in page
    assert "&#x27;quotes&#x27;" in page
    assert "default-src 'none'" in page
    assert "Purposes of the processing" in page
    assert HOSTILE in "".join(parser.text)  # a person reads the value as it was


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_any_json_part_gives_a_valid_xml_file_and_a_page_without_tags_from_the_data(
    part: Any,
) -> None:
    doc = document(part)
    assert schema().validate(render_xml(doc)) == []
    parser = _Tags()
    parser.feed(render_html(doc).decode())
    assert set(parser.tags) <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "h3",
        "p",
        "ul",
        "li",
        "b",
        "table",
        "tr",
        "th",
        "td",
        "ol",
        "em",
    }


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda r: r.attrib.pop("requestId"), "attribute requestId is missing"),
        (lambda r: r.set("generatedAt", "yesterday"), "@generatedAt is not a valid xs:dateTime"),
        (lambda r: r.remove(r.find(f"{{{NAMESPACE}}}article15")), "article15 expected"),
        (
            lambda r: r.find(f"{{{NAMESPACE}}}article15/{{{NAMESPACE}}}section").set(
                "name", "gossip"
            ),
            "@name is not a valid SectionName",
        ),
        (
            lambda r: ET.SubElement(
                r.find(f".//{{{NAMESPACE}}}object"), f"{{{NAMESPACE}}}number"
            ).__setattr__("text", "1e5"),
            "not a valid xs:decimal",
        ),
        (lambda r: ET.SubElement(r, f"{{{NAMESPACE}}}extra"), "unexpected element"),
        (lambda r: r.find(f"{{{NAMESPACE}}}data").__setattr__("text", "loose"), "text where"),
    ],
)
def test_the_schema_check_finds_what_does_not_conform(change: Any, error: str) -> None:
    root = ET.fromstring(render_xml(document()))  # noqa: S314 - our own output
    change(root)
    errors = schema().validate(ET.tostring(root))
    assert any(error in e for e in errors), errors


def test_not_well_formed_xml_and_an_unchecked_schema_construct_are_said() -> None:
    assert schema().validate(b"<accessReport")[0].startswith("not well-formed")
    with pytest.raises(UnsupportedSchema):
        Schema(
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x">'
            '<xs:element name="a" type="A"/><xs:complexType name="A"><xs:all/></xs:complexType>'
            "</xs:schema>"
        )


def test_deadlines_one_month_gdpr_15_days_lgpd_due_at_the_earlier() -> None:
    found = rules.deadlines(WHEN)
    assert found["gdpr"] == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)  # no 31 February
    assert found["lgpd"] == datetime(2026, 2, 15, 10, 0, tzinfo=UTC)
    assert rules.due_at(WHEN) == found["lgpd"]
    december = datetime(2026, 12, 15, tzinfo=UTC)
    assert rules.deadlines(december)["gdpr"] == datetime(2027, 1, 15, tzinfo=UTC)


def test_a_request_waits_for_each_service_until_it_confirms_its_kind() -> None:
    contributed = Answer("customers", "contributed", WHEN, records=3)
    erased = Answer("credits", "erased", WHEN, erased={"coupons_voided": 1})
    answers = {"customers": contributed, "credits": erased}
    assert rules.waiting_for("access", answers) == ["credits", "automation", "exports"]
    assert rules.waiting_for("erasure", answers) == ["customers", "automation", "exports"]
    reason = rules.waiting_reason("access", answers, WHEN, rules.due_at(WHEN))
    assert reason == "Waiting for credits, automation, exports to confirm"
    late = rules.waiting_reason("access", answers, datetime(2026, 3, 1, tzinfo=UTC), WHEN)
    assert late.endswith("(overdue)")
    failed = Answer("automation", "failed", WHEN, reason="x", detail="y")
    assert rules.failure({**answers, "automation": failed}) == failed
