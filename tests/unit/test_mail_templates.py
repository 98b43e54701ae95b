"""Rendering in the sandbox: hostile templates and hostile data cannot escape, inject or run
away; missing variables stop the send; plain text is generated; languages are picked."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.automation.templates.builtin.rules import BUILTINS
from chalicelib.automation.templates.rules import (
    SAMPLE_CONTEXT,
    SAMPLE_CUSTOMER,
    Content,
    Template,
    TemplateError,
    html_to_text,
    pick_language,
    render,
)

LIMIT = 200_000


def template(html: str, subject: str = "s", text: str | None = None) -> Template:
    return Template("t", "T", "en", {"en": Content(subject, html, text)})


def rendered(html: str, **context: Any) -> str:
    return render(template(html), context, None, max_chars=LIMIT).html


def refusal(html: str, **context: Any) -> str:
    with pytest.raises(TemplateError) as error:
        rendered(html, **context)
    return error.value.reason


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer.__class__ }}",
        "{{ customer.items.__self__.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ self._TemplateReference__context }}",
        "{{ range.__self__ }}",
        "{{ ''|attr('__class__') }}",
        "{{ '%s'|format(customer) }}",
        "{{ namespace() }}",
    ],
)
def test_attribute_access_cannot_leave_the_sandbox(attack: str) -> None:
    assert refusal(attack, customer={"first_name": "a"}) in (
        "template_refused",
        "template_syntax",
        "missing_variable",
        "render_failed",
    )


@pytest.mark.parametrize(
    "attack",
    [
        "{% for i in range(100000) %}x{% endfor %}",
        "{% for i in range(999) %}{% for j in range(999) %}{{ i }}{{ j }}{% endfor %}{% endfor %}",
        "{{ 'x' * 100000000 }}",
        "{{ ('x' * 5000) * 5000 }}",
        "{{ 9 ** 9 ** 9 }}",
        "{{ 10 ** 100000 }}",
    ],
)
def test_runaway_templates_are_stopped(attack: str) -> None:
    # Refused before the work (range, operands) or cut off by the output bound: never run out.
    assert refusal(attack) in ("template_refused", "too_long")


def test_a_script_in_a_customer_s_name_arrives_as_text() -> None:
    name = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    html = rendered(
        '<p title="{{ customer.first_name }}">{{ customer.first_name }}</p>',
        customer={"first_name": name},
    )

    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&#34;" in html


def test_safe_is_not_available_to_unescape_data() -> None:
    # An unknown filter: refused when the template is compiled, before any data is seen.
    assert refusal("{{ customer.first_name|safe }}", customer={"first_name": "<b>"}) == (
        "template_syntax"
    )


def test_data_is_only_json_values() -> None:
    class Secret:
        token = "s3cr3t"

    html = rendered("{{ thing }}", thing=Secret())

    assert "s3cr3t" not in html


def test_a_missing_variable_stops_rendering_and_names_it() -> None:
    with pytest.raises(TemplateError) as error:
        rendered("Hi {{ customer.first_name }} {{ coupon.code }}", customer={"first_name": "A"})

    assert error.value.reason == "missing_variable"
    assert "coupon" in error.value.detail


def test_a_known_empty_value_prints_nothing() -> None:
    assert rendered("[{{ customer.first_name }}]", customer={"first_name": None}) == "[]"


def test_the_subject_has_no_line_breaks() -> None:
    result = render(
        template("x", subject="Hi {{ n }}"), {"n": "a\r\nBcc: x@y"}, None, max_chars=LIMIT
    )

    assert "\n" not in result.subject and "\r" not in result.subject


def test_plain_text_is_generated_from_html_with_links() -> None:
    text = html_to_text(
        "<html><head><style>p{}</style></head><body><h1>Olá</h1><p>Seu <b>carrinho</b>:</p>"
        '<ul><li>Tênis</li><li>Meias</li></ul><a href="https://x.example/c">Voltar</a></body></html>'
    )

    assert text == "Olá\n\nSeu carrinho:\n\n- Tênis\n- Meias\nVoltar (https://x.example/c)\n"


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("pt-BR", "pt-BR"),
        ("pt", "pt-BR"),
        ("PT-br", "pt-BR"),
        ("es-AR", "es"),
        ("de", "en"),
        (None, "en"),
    ],
)
def test_the_customer_s_language_picks_the_part(wanted: str | None, expected: str) -> None:
    contents = {lang: Content("s", "h") for lang in ("en", "pt-BR", "es")}

    assert pick_language(contents, wanted, "en") == expected


@pytest.mark.parametrize("template_id", sorted(BUILTINS))
@pytest.mark.parametrize("language", ["pt-BR", "es", "it", "en"])
def test_every_built_in_renders_in_every_language(template_id: str, language: str) -> None:
    values = {**SAMPLE_CONTEXT, "customer": SAMPLE_CUSTOMER}

    result = render(BUILTINS[template_id], values, language, max_chars=LIMIT)

    assert result.language == language
    assert "unsubscribe/sample" in result.html
    assert result.subject and result.text.strip()


@given(st.text(max_size=200))
def test_any_name_renders_escaped(name: str) -> None:
    html = rendered("<p>{{ n }}</p>", n=name)

    assert "<" not in html[3:-4] and ">" not in html[3:-4]
