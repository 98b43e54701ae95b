"""E-mail templates and their rendering, in a sandbox that a hostile template cannot leave.

A template is the store's code, rendered with its customers' data, so both sides are distrusted:
- Jinja2's `SandboxedEnvironment` refuses unsafe attribute access (`__class__`, `mro`, ...);
  the context holds only JSON values (dicts, lists, text, numbers), never Python objects.
- `StrictUndefined`: a missing variable stops the rendering (the send is skipped with a reason),
  never renders blank.
- The HTML part is autoescaped and `safe` is not available: every value is escaped, so a
  `<script>` in a customer's name arrives as text. Subject and text parts are not HTML; the
  subject loses line breaks (no header injection).
- Bounded work: a short list of filters and globals, `range` capped, `*` and `**` checked, loops
  nested at most two deep and never recursive, no macros or includes, and the output is cut off
  (an error, not a truncated mail) past `max_chars`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

# Jinja2 loads with the first template checked or rendered (`_environments`), not with this
# module: most functions that import it never render (root README, "Cold start").
if TYPE_CHECKING:
    from jinja2 import Template as JinjaTemplate
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment

LANGUAGES = ("pt-BR", "es", "it", "en")
MAX_RANGE = 1000
MAX_LOOP_DEPTH = 2
MAX_OPERAND = 10_000
MAX_SOURCE_CHARS = 100_000
# Filters that cannot blow up or reach outside the data (no safe, center, indent, wordwrap,
# attr, format, pprint, random, urlize, xmlattr).
ALLOWED_FILTERS = [
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "e",
    "escape",
    "first",
    "float",
    "int",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "max",
    "min",
    "replace",
    "reverse",
    "round",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
]
_REFUSED_NODES = ("Macro", "CallBlock", "Extends", "Include", "Import", "FromImport", "FilterBlock")


@dataclass(frozen=True)
class Content:
    """A template's parts in one language."""

    subject: str
    html: str
    text: str | None = None


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    default_language: str
    contents: Mapping[str, Content]
    version: int = 1
    builtin: bool = False
    description: str = ""
    updated_at: datetime | None = None
    # The variables a caller must give besides customer, shop and unsubscribe_url.
    variables: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    html: str
    text: str


class TemplateError(Exception):
    """A template that cannot render: `reason` is a code, `detail` never holds data values."""

    def __init__(self, reason: str, detail: str, part: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.part = part


def _bounded_range(*args: int) -> range:
    from jinja2.exceptions import SecurityError  # noqa: PLC0415

    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range is limited to {MAX_RANGE} items")
    return values


def _blank_none(value: Any) -> Any:
    """A known but empty value (a customer without a first name) prints as nothing."""
    return "" if value is None else value


@functools.cache
def _environments() -> tuple[SandboxedEnvironment, SandboxedEnvironment]:
    """The HTML (autoescaped) and the plain sandbox, built once, with the first template."""
    from jinja2 import StrictUndefined  # noqa: PLC0415
    from jinja2.exceptions import SecurityError  # noqa: PLC0415
    from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415

    class _Sandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:  # noqa: ARG002 - Jinja's signature
            sequences = [v for v in (left, right) if isinstance(v, str | list | tuple)]
            numbers = [v for v in (left, right) if isinstance(v, int | float)]
            if any(abs(n) > MAX_OPERAND for n in numbers) or (
                operator == "*"
                and sequences
                and numbers
                and len(sequences[0]) * numbers[0] > MAX_OPERAND
            ):
                raise SecurityError("an operand is too large")
            if operator == "**":
                if isinstance(right, int | float) and abs(right) > 64:
                    raise SecurityError("an exponent is too large")
                return left**right
            return left * right

    def environment(autoescape: bool) -> SandboxedEnvironment:
        env = _Sandbox(
            autoescape=autoescape,
            undefined=StrictUndefined,
            auto_reload=False,
            finalize=_blank_none,
        )
        env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
        env.globals = {"range": _bounded_range}
        return env

    return environment(autoescape=True), environment(autoescape=False)


def _check_shape(source: str, html: bool, part: str) -> None:
    _compiled(source, html, part)


@functools.lru_cache(maxsize=256)
def _compiled(source: str, html: bool, part: str) -> JinjaTemplate:
    """The checked, compiled template (cached: flows render the same few many times)."""
    from jinja2 import TemplateSyntaxError, nodes  # noqa: PLC0415

    env = _environments()[0 if html else 1]
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateError("template_too_large", f"at most {MAX_SOURCE_CHARS} characters", part)
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as error:
        raise TemplateError(
            "template_syntax", f"line {error.lineno}: {error.message}", part
        ) from None
    for node in tree.find_all(tuple(getattr(nodes, name) for name in _REFUSED_NODES)):
        raise TemplateError("template_refused", f"{type(node).__name__} is not allowed", part)
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise TemplateError("template_refused", "recursive loops are not allowed", part)
        if _loop_depth(loop) > MAX_LOOP_DEPTH:
            raise TemplateError(
                "template_refused", f"loops nest at most {MAX_LOOP_DEPTH} deep", part
            )
    try:
        return env.from_string(source)
    except TemplateSyntaxError as error:  # an unknown filter or test is found when compiling
        raise TemplateError(
            "template_syntax", f"line {error.lineno}: {error.message}", part
        ) from None


def _loop_depth(node: nodes.Node) -> int:
    from jinja2 import nodes  # noqa: PLC0415

    inner = [_loop_depth(child) for child in node.iter_child_nodes()]
    return (1 if isinstance(node, nodes.For) else 0) + max(inner, default=0)


def check_content(content: Content) -> None:
    """Refuses a part that is malformed or does what templates may not (TemplateError)."""
    _check_shape(content.subject, False, "subject")
    _check_shape(content.html, True, "html")
    if content.text is not None:
        _check_shape(content.text, False, "text")


def _render(source: str, html: bool, context: Mapping[str, Any], part: str, limit: int) -> str:
    from jinja2 import UndefinedError  # noqa: PLC0415
    from jinja2.exceptions import SecurityError  # noqa: PLC0415

    compiled = _compiled(source, html, part)
    try:
        chunks: list[str] = []
        size = 0
        stream: Iterator[str] = compiled.generate(dict(context))
        for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise TemplateError("too_long", f"the rendered {part} exceeds {limit} characters")
            chunks.append(chunk)
        return "".join(chunks)
    except UndefinedError as error:
        # Jinja names the variable ("'cart' is undefined"): a name, never a value.
        raise TemplateError("missing_variable", str(error.message), part) from None
    except SecurityError as error:
        raise TemplateError("template_refused", str(error), part) from None
    except TemplateError:
        raise
    except (TypeError, ValueError, ArithmeticError, RecursionError, LookupError) as error:
        raise TemplateError("render_failed", type(error).__name__, part) from None


def plain_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Only JSON values reach a template: nothing with methods or attributes to reach through."""
    loaded: dict[str, Any] = json.loads(json.dumps(dict(context), default=str))
    return loaded


def pick_language(available: Mapping[str, Content], wanted: str | None, default: str) -> str:
    """The customer's language if the template has it (`pt` finds `pt-BR`), else its default."""
    if wanted:
        lowered = {lang.lower(): lang for lang in available}
        if wanted.lower() in lowered:
            return lowered[wanted.lower()]
        primary = wanted.split("-")[0].lower()
        for lang in available:
            if lang.split("-")[0].lower() == primary:
                return lang
    return default if default in available else next(iter(available))


def render(
    template: Template, context: Mapping[str, Any], language: str | None, *, max_chars: int
) -> Rendered:
    chosen = pick_language(template.contents, language, template.default_language)
    content = template.contents[chosen]
    values = plain_context(context)
    subject = _render(content.subject, False, values, "subject", 998)
    body = _render(content.html, True, values, "html", max_chars)
    if content.text is not None:
        text = _render(content.text, False, values, "text", max_chars)
    else:
        text = html_to_text(body)
    return Rendered(chosen, " ".join(subject.split()), body, text)


class _TextParser(HTMLParser):
    _BLOCKS = frozenset(
        [
            "p",
            "div",
            "br",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "ul",
            "ol",
            "section",
            "header",
            "footer",
            "blockquote",
        ]
    )
    _SKIPPED = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self.skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "li":  # one line per item, no blank line between them
            self.parts.append("\n- ")
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "a" and self.links:
            href = self.links.pop()
            if href.startswith(("http://", "https://")):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """A readable plain-text part from an HTML one: blocks become lines, links show their URL."""
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# What a preview renders with when the caller gives no customer or data of their own.
SAMPLE_CUSTOMER: dict[str, Any] = {
    "id": "sample",
    "first_name": "Maria",
    "last_name": "Silva",
    "email": "maria.silva@example.com",
    "language": "pt-BR",
    "country": "BR",
    "tags": ["vip"],
}
SAMPLE_CONTEXT: dict[str, Any] = {
    "shop": {"name": "Loja Exemplo", "url": "https://loja.example.com"},
    "cart": {
        "url": "https://loja.example.com/cart",
        "items": [
            {"name": "Tênis de corrida", "quantity": 1, "price": "299.90"},
            {"name": "Meias esportivas", "quantity": 2, "price": "29.90"},
        ],
    },
    "order": {"id": "1001", "review_url": "https://loja.example.com/review/1001"},
    "credit": {"amount": "R$ 50,00", "expires_on": "2026-12-31"},
    "unsubscribe_url": "https://loja.example.com/unsubscribe/sample",
}
