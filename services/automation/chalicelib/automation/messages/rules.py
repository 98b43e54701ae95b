"""One-to-one messages: reply addresses, parsing what comes back, stripping the quoted part.
No AWS here.

A message's Reply-To is `reply+<token>@<reply domain>`: the token is the thread id and a
signature over it, the store and the customer. A reply is threaded by that token; the
In-Reply-To / References headers are only a fallback, accepted when the reply comes from the
thread's customer's own address. Anything else is dropped, never attached to another thread.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from chalicelib.automation.templates.rules import html_to_text
from clientela import signing

THREAD_ID_CHARS = 26  # a ULID
MAX_BODY_CHARS = 100_000
_REPLY_LOCAL = re.compile(r"^reply\+([0-9a-z]{26})([0-9a-f]{32})$", re.IGNORECASE)


def reply_token(thread_id: str, store_id: str, customer_id: str, *, key: str) -> str:
    signature = signing.sign("reply", thread_id.upper(), store_id, customer_id, key=key)
    return thread_id.lower() + signature


def reply_address(token: str, domain: str) -> str:
    return f"reply+{token}@{domain}"


@dataclass(frozen=True)
class ReplyToken:
    thread_id: str
    signature: str

    def valid_for(self, store_id: str, customer_id: str, *, key: str) -> bool:
        return signing.verify(
            "reply", self.signature, self.thread_id, store_id, customer_id, key=key
        )


def tokens_in(addresses: list[str], domain: str) -> list[ReplyToken]:
    """The reply tokens among the addresses a mail was delivered to (shape only: the signature
    is checked against the thread)."""
    found = []
    for address in addresses:
        local, _, host = address.strip().rpartition("@")
        match = _REPLY_LOCAL.match(local)
        if match and host.lower() == domain.lower():
            found.append(ReplyToken(match.group(1).upper(), match.group(2).lower()))
    return found


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Inbound:
    """A received mail, parsed."""

    message_id: str | None
    sender: str
    recipients: list[str]
    subject: str
    text: str
    in_reply_to: list[str]
    attachments: list[Attachment] = field(default_factory=list)


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", value or "")


def _decoded(part: Message) -> str:
    """A text part in whatever charset it declares (a wrong or unknown one cannot fail)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def parse(raw: bytes) -> Inbound:
    """Headers, the text (the plain part, else the HTML part as text) and the attachments."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    plain: str | None = None
    markup: str | None = None
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition == "attachment" or (filename and disposition != "inline"):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append(Attachment(filename or "unnamed", part.get_content_type(), size))
        elif part.get_content_type() == "text/plain" and plain is None:
            plain = _decoded(part)
        elif part.get_content_type() == "text/html" and markup is None:
            markup = _decoded(part)
    text = plain if plain is not None else html_to_text(markup) if markup is not None else ""
    recipients = [
        address
        for header in ("To", "Cc", "Delivered-To", "X-Original-To")
        for _, address in getaddresses([str(v) for v in message.get_all(header, [])])
        if address
    ]
    return Inbound(
        message_id=next(iter(_ids(str(message.get("Message-ID", "")))), None),
        sender=parseaddr(str(message.get("From", "")))[1],
        recipients=recipients,
        subject=" ".join(str(message.get("Subject", "")).split()),
        text=text[:MAX_BODY_CHARS],
        in_reply_to=_ids(str(message.get("In-Reply-To", "")))
        + _ids(str(message.get("References", ""))),
        attachments=attachments,
    )


# Where the quoted original begins, as the common mail clients write it (en, pt, es, it).
_QUOTE_HEADERS = re.compile(
    r"^\s*("
    r"On .{1,300}wrote:|"
    r"Em .{1,300}escreveu:|"
    r"El .{1,300}escribió:|"
    r"Il .{1,300}ha scritto:|"
    r"-{2,}\s*(Original Message|Mensagem original|Mensaje original|Messaggio originale)\s*-{2,}|"
    r"_{10,}|"
    r"(From|De|Da):\s.+"
    r")\s*$",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The reply without what it quotes: everything from the first attribution line ("On ...
    wrote:", "Em ... escreveu:", an "Original Message" rule, an Outlook header block) and any
    `>` quoted line. A reply that is only a quote keeps its text (better shown than lost)."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        # Some clients wrap the attribution over two lines.
        joined = line + " " + lines[index + 1] if index + 1 < len(lines) else line
        if _QUOTE_HEADERS.match(line) or (
            line.strip() and _QUOTE_HEADERS.match(joined) and "wrote:" in joined
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    stripped = "\n".join(kept).strip()
    return stripped or text.strip()


def ses_id_of(header_id: str) -> str:
    """SES's message id from the Message-ID it gave a mail (`<id@region.amazonses.com>`)."""
    return header_id.split("@", 1)[0]


def html_of(text: str) -> str:
    """The HTML part of a message the admin typed as text."""
    paragraphs = html.escape(text).split("\n")
    return "<html><body><p>" + "<br>".join(paragraphs) + "</p></body></html>"


def sender_matches(sender: str, email: str | None) -> bool:
    return bool(email) and sender.strip().lower() == (email or "").strip().lower()
