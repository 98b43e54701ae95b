"""The access file in three formats, and a check of the XML against the schema we ship.

Every value comes from `clientela.privacy.plain` (JSON types only). JSON is the document as is.
XML carries it as a typed tree (access.xsd); text goes through ElementTree, which escapes it,
and characters XML 1.0 cannot hold at all (most C0 controls) are replaced by U+FFFD. HTML is a
page a person can read: every key and value is escaped (`html.escape`, quotes included) and the
page loads nothing and runs nothing (a CSP that forbids scripts, no external resources).

lxml is not available, so `Schema` reads access.xsd itself and checks a document against it:
the subset of XML Schema the file uses (named complex types with sequences, choices and groups,
minOccurs / maxOccurs, simple content, required attributes, enumerations, and the built-in types
string, decimal, boolean, dateTime). A construct outside that subset is refused when the schema
is read, so the check cannot silently skip part of the schema.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

NAMESPACE = "urn:clientela:privacy:access:v1"
XSD = "http://www.w3.org/2001/XMLSchema"
SCHEMA_PATH = Path(__file__).with_name("access.xsd")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_UNBOUNDED = 1 << 62


def render_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False).encode()


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _value(parent: ET.Element, value: Any, name: str | None = None) -> None:
    attributes = {} if name is None else {"name": _text(name)}
    if isinstance(value, dict):
        node = ET.SubElement(parent, _q("object"), attributes)
        for key, item in value.items():
            _value(node, item, str(key))
    elif isinstance(value, list):
        node = ET.SubElement(parent, _q("array"), attributes)
        for item in value:
            _value(node, item)
    elif value is None:
        ET.SubElement(parent, _q("null"), attributes)
    elif isinstance(value, bool):
        ET.SubElement(parent, _q("boolean"), attributes).text = "true" if value else "false"
    elif isinstance(value, int | float | Decimal):
        ET.SubElement(parent, _q("number"), attributes).text = str(value)
    else:
        ET.SubElement(parent, _q("string"), attributes).text = _text(str(value))


def render_xml(document: dict[str, Any]) -> bytes:
    request = document["request"]
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(
        _q("accessReport"),
        {"requestId": _text(str(request["id"])), "generatedAt": str(request["generated_at"])},
    )
    meta = ET.SubElement(root, _q("request"))
    for key, item in request.items():
        _value(meta, item, key)
    article = ET.SubElement(root, _q("article15"))
    for section, entries in document["article_15"].items():
        node = ET.SubElement(article, _q("section"), {"name": section})
        for entry in entries:
            ET.SubElement(node, _q("entry"), {"service": entry["service"]}).text = _text(
                entry["text"]
            )
    data = ET.SubElement(root, _q("data"))
    for service, part in document["data"].items():
        _value(ET.SubElement(data, _q("service"), {"name": service}), part)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


# HTML -------------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}}</style>
</head>
<body>
{body}
</body>
</html>
"""
_LABELS = {
    "purposes": "Purposes of the processing",
    "categories": "Categories of personal data",
    "recipients": "Recipients",
    "retention": "How long the data is kept",
    "source": "Where the data comes from",
}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _html_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value in (None, {}, []):
        return "<em>none</em>"
    if isinstance(value, dict):
        rows = "".join(
            f"<tr><th>{_e(key)}</th><td>{_html_value(item)}</td></tr>"
            for key, item in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        return "<ol>" + "".join(f"<li>{_html_value(item)}</li>" for item in value) + "</ol>"
    return _e(value)


def render_html(document: dict[str, Any]) -> bytes:
    request = document["request"]
    parts = [
        "<h1>Your personal data</h1>",
        f"<p>Request {_e(request['id'])}, generated {_e(request['generated_at'])}.</p>",
        "<h2>About the processing (GDPR article 15, LGPD article 18)</h2>",
    ]
    for section, entries in document["article_15"].items():
        parts.append(f"<h3>{_e(_LABELS[section])}</h3><ul>")
        parts += [f"<li><b>{_e(e['service'])}</b>: {_e(e['text'])}</li>" for e in entries]
        parts.append("</ul>")
    parts.append("<h2>The data each part of the service holds</h2>")
    for service, part in document["data"].items():
        parts.append(f"<h3>{_e(service)}</h3>{_html_value(part)}")
    title = f"Personal data: request {_e(request['id'])}"
    return _PAGE.format(title=title, body="\n".join(parts)).encode()


# The schema ---------------------------------------------------------------------------------


class UnsupportedSchema(Exception):
    """access.xsd uses a construct `Schema` does not check."""


@dataclass(frozen=True)
class Particle:
    """An element (or a choice of elements) that may occur min..max times in a sequence."""

    choices: dict[str, str]  # element name -> type name
    low: int
    high: int


@dataclass(frozen=True)
class ComplexType:
    attributes: dict[str, tuple[str, bool]]  # name -> (type, required)
    particles: tuple[Particle, ...] = ()
    text: str | None = None  # the simple content's type


def _x(name: str) -> str:
    return f"{{{XSD}}}{name}"


def _occurs(node: ET.Element) -> tuple[int, int]:
    high = node.get("maxOccurs", "1")
    return int(node.get("minOccurs", "1")), _UNBOUNDED if high == "unbounded" else int(high)


def _attributes(node: ET.Element) -> dict[str, tuple[str, bool]]:
    return {
        a.attrib["name"]: (a.attrib["type"], a.get("use") == "required")
        for a in node.findall(_x("attribute"))
    }


class Schema:
    """access.xsd, read once: its root element, complex types, groups and enumerations."""

    def __init__(self, text: str) -> None:
        root = ET.fromstring(text)  # noqa: S314 - our own schema file, not input
        self.namespace = root.attrib["targetNamespace"]
        groups: dict[str, dict[str, str]] = {}
        for group in root.findall(_x("group")):
            choice = group.find(_x("choice"))
            if choice is None:
                raise UnsupportedSchema("a group that is not one choice")
            groups[group.attrib["name"]] = {
                e.attrib["name"]: e.attrib["type"] for e in choice.findall(_x("element"))
            }
        self.enumerations = {
            simple.attrib["name"]: {e.attrib["value"] for e in simple.iter(_x("enumeration"))}
            for simple in root.findall(_x("simpleType"))
        }
        self.types: dict[str, ComplexType] = {}
        for complex_type in root.findall(_x("complexType")):
            self.types[complex_type.attrib["name"]] = self._complex(complex_type, groups)
        [element] = root.findall(_x("element"))
        self.root = (element.attrib["name"], element.attrib["type"])

    def _complex(self, node: ET.Element, groups: dict[str, dict[str, str]]) -> ComplexType:
        simple = node.find(_x("simpleContent"))
        if simple is not None:
            extension = simple.find(_x("extension"))
            if extension is None:
                raise UnsupportedSchema("simple content that is not an extension")
            return ComplexType(_attributes(extension), text=extension.attrib["base"])
        particles: list[Particle] = []
        sequence = node.find(_x("sequence"))
        for child in [] if sequence is None else list(sequence):
            low, high = _occurs(child)
            if child.tag == _x("element"):
                choices = {child.attrib["name"]: child.attrib["type"]}
            elif child.tag == _x("group"):
                choices = groups[child.attrib["ref"]]
            else:
                raise UnsupportedSchema(f"{child.tag} in a sequence")
            particles.append(Particle(choices, low, high))
        known = {_x("sequence"), _x("attribute"), _x("annotation")}
        if any(child.tag not in known for child in node):
            raise UnsupportedSchema("a complex type beyond sequence and attributes")
        return ComplexType(_attributes(node), tuple(particles))

    def validate(self, document: bytes) -> list[str]:
        """What in the document does not conform (empty when it is valid)."""
        try:
            root = ET.fromstring(document)  # noqa: S314 - ElementTree expands no external entity
        except ET.ParseError as error:
            return [f"not well-formed: {error}"]
        name, type_name = self.root
        if root.tag != f"{{{self.namespace}}}{name}":
            return [f"the root is {root.tag}, not {name}"]
        errors: list[str] = []
        self._check(root, type_name, f"/{name}", errors)
        return errors

    def _simple(self, type_name: str, value: str) -> bool:
        if type_name in self.enumerations:
            return value in self.enumerations[type_name]
        checks = {
            "xs:string": lambda _: True,
            "xs:boolean": lambda v: v in {"true", "false", "1", "0"},
            "xs:decimal": _is_decimal,
            "xs:dateTime": _is_datetime,
        }
        if type_name not in checks:
            raise UnsupportedSchema(f"the type {type_name}")
        return bool(checks[type_name](value))

    def _check(self, node: ET.Element, type_name: str, path: str, errors: list[str]) -> None:
        kind = self.types[type_name]
        for attribute, (attr_type, required) in kind.attributes.items():
            value = node.get(attribute)
            if value is None:
                if required:
                    errors.append(f"{path}: the attribute {attribute} is missing")
            elif not self._simple(attr_type, value):
                errors.append(f"{path}: @{attribute} is not a valid {attr_type}")
        errors += [
            f"{path}: unknown attribute {a}" for a in node.attrib if a not in kind.attributes
        ]
        children = list(node)
        if kind.text is not None:
            if children:
                errors.append(f"{path}: elements where text is expected")
            elif not self._simple(kind.text, node.text or ""):
                errors.append(f"{path}: the text is not a valid {kind.text}")
            return
        if (node.text or "").strip() or any((c.tail or "").strip() for c in children):
            errors.append(f"{path}: text where only elements are allowed")
        self._match(children, kind.particles, path, errors)

    def _match(
        self,
        children: list[ET.Element],
        particles: tuple[Particle, ...],
        path: str,
        errors: list[str],
    ) -> None:
        position = 0
        prefix = f"{{{self.namespace}}}"
        for particle in particles:
            count = 0
            while position < len(children) and count < particle.high:
                tag = children[position].tag
                local = tag.removeprefix(prefix) if tag.startswith(prefix) else None
                if local not in particle.choices:
                    break
                child_path = f"{path}/{local}[{position + 1}]"
                self._check(children[position], particle.choices[local], child_path, errors)
                position += 1
                count += 1
            if count < particle.low:
                expected = " or ".join(sorted(particle.choices))
                errors.append(f"{path}: {particle.low} {expected} expected, found {count}")
        errors += [f"{path}: unexpected element {c.tag}" for c in children[position:]]


_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def _is_decimal(value: str) -> bool:
    """xs:decimal's lexical form: digits with an optional point, no exponent, no NaN."""
    return _DECIMAL.fullmatch(value) is not None


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value


def schema() -> Schema:
    return Schema(SCHEMA_PATH.read_text(encoding="utf-8"))


RENDERERS = {"json": render_json, "xml": render_xml, "html": render_html}
