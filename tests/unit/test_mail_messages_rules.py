"""Replies as mail clients write them: MIME parsing (multipart, charsets, attachments), the
quoted part stripped, reply tokens found and checked."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from chalicelib.automation.messages import rules

KEY = "unit-test-link-key"
DOMAIN = "reply.example"


def test_a_multipart_reply_in_latin_1_with_an_attachment() -> None:
    mail = EmailMessage()
    mail["From"] = "Ana Souza <ana@example.com>"
    mail["To"] = "Loja <reply+abc@reply.example>, outra@example.com"
    mail["Cc"] = "gerente@example.com"
    mail["Subject"] = "Re: Sua  troca"
    mail["Message-ID"] = "<m1@mail.example>"
    mail["In-Reply-To"] = "<ses-1@email.amazonses.com>"
    mail["References"] = "<ses-0@email.amazonses.com> <ses-1@email.amazonses.com>"
    mail.set_content("Ação concluída, obrigado!", charset="iso-8859-1")
    mail.add_alternative("<p>Ação</p>", subtype="html")
    mail.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="foto.png")

    parsed = rules.parse(mail.as_bytes())

    assert parsed.sender == "ana@example.com"
    assert parsed.recipients == [
        "reply+abc@reply.example",
        "outra@example.com",
        "gerente@example.com",
    ]
    assert (parsed.subject, parsed.message_id) == ("Re: Sua troca", "m1@mail.example")
    assert parsed.text.strip() == "Ação concluída, obrigado!"
    assert parsed.in_reply_to[0] == "ses-1@email.amazonses.com"
    assert parsed.attachments == [rules.Attachment("foto.png", "image/png", 8)]


def test_an_html_only_reply_and_an_unknown_charset_still_read() -> None:
    html_only = (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Ol\xc3\xa1 <b>mundo</b></p>\r\n"
    )
    unknown = (
        b"From: a@example.com\r\nSubject: x\r\n"
        b"Content-Type: text/plain; charset=x-nonsense\r\n\r\nOl\xc3\xa1\r\n"
    )

    assert rules.parse(html_only).text.strip() == "Olá mundo"
    assert rules.parse(unknown).text.strip() == "Olá"


@pytest.mark.parametrize(
    "quoted",
    [
        "On Mon, 23 Nov 2026 at 10:00, Loja <mail@x.example> wrote:\n> Olá\n> texto",
        "Em seg., 23 de nov. de 2026 às 10:00, Loja <mail@x.example> escreveu:\n> Olá",
        "El lun, 23 nov 2026 a las 10:00, Loja <mail@x.example> escribió:\n> Hola",
        "Il giorno lun 23 nov 2026 alle 10:00 Loja <mail@x.example> ha scritto:\n> Ciao",
        "-----Original Message-----\nFrom: Loja\nSent: Monday\n\nOlá",
        "________________________________\nDe: Loja <mail@x.example>\nEnviado: segunda\n\nOlá",
        "On Mon, 23 Nov 2026 at 10:00, Loja Exemplo Muito Comprida\n<mail@x.example> wrote:\n> Olá",
    ],
)
def test_the_quoted_part_is_stripped(quoted: str) -> None:
    assert rules.strip_quoted(f"Sim, pode trocar.\nObrigada!\n\n{quoted}\n") == (
        "Sim, pode trocar.\nObrigada!"
    )


def test_inline_quotes_go_and_a_reply_that_is_only_a_quote_keeps_its_text() -> None:
    assert rules.strip_quoted("> pergunta\nresposta\n> outra\nfim") == "resposta\nfim"
    assert rules.strip_quoted("> só citação") == "> só citação"


def test_a_reply_token_is_found_among_the_recipients_and_checked_against_its_thread() -> None:
    thread_id = "01JD40B7Y2ABCDEFGHJKMNPQRS"
    token = rules.reply_token(thread_id, "store-a", "C1", key=KEY)
    address = rules.reply_address(token, DOMAIN).upper()  # case is not significant

    [found] = rules.tokens_in(["x@example.com", address, f"reply+{token}@other.example"], DOMAIN)

    assert found.thread_id == thread_id
    assert found.valid_for("store-a", "C1", key=KEY)
    assert not found.valid_for("store-b", "C1", key=KEY)
    assert not found.valid_for("store-a", "C2", key=KEY)
    assert rules.tokens_in(["reply+short@reply.example"], DOMAIN) == []
