"""Sending rules: message ids, signed links, the MIME message, SES notifications. No AWS here.

Links carry an opaque token: the message id (a hash, nothing readable) and a signature over
it, the store and the customer, made with the service's link key (derived per purpose).
Whoever holds a link can do only what the link says, for that message alone; the store and the
customer are read from the send record, never from the link.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Literal
from urllib.parse import quote

from clientela import signing

MESSAGE_ID_CHARS = 26
TOKEN_CHARS = MESSAGE_ID_CHARS + signing.SIGNATURE_CHARS
_TOKEN = re.compile(rf"^[0-9a-f]{{{TOKEN_CHARS}}}$")
# A claim older than this was left by a sender that died mid-send: another may take it over.
STALE_CLAIM_SECONDS = 300

Status = Literal["sent", "skipped"]

# Why a send was skipped (the reason codes stats group by).
UNKNOWN_CONTACT = "unknown_contact"
NO_EMAIL = "no_email"
NOT_SUBSCRIBED = "not_subscribed"
SUPPRESSED = "suppressed"
UNKNOWN_TEMPLATE = "unknown_template"
INVALID_ADDRESS = "invalid_address"
IN_PROGRESS = "in_progress"
# ... and the template's own reasons (chalicelib.automation.templates.rules.TemplateError):
# missing_variable, template_refused, template_syntax, too_long, render_failed.


@dataclass(frozen=True)
class Origin:
    """Where a send comes from: stats and attribution group sends by it."""

    kind: str = "flow"  # flow | message | manual
    flow_id: str | None = None
    flow_name: str | None = None
    flow_version: int | None = None
    step_id: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class SendOutcome:
    status: Status
    reason: str | None
    message_id: str
    detail: str | None = None


@dataclass(frozen=True)
class SendRecord:
    """One send or skip, as recorded (table `clientela-automation-mail`, `SEND#<message id>`)."""

    message_id: str
    store_id: str
    customer_id: str
    template_id: str | None
    marketing: bool
    origin: Origin
    status: str  # sending | sent | skipped | failed
    created_at: datetime
    reason: str | None = None
    detail: str | None = None
    language: str | None = None
    sent_at: datetime | None = None
    ses_message_id: str | None = None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    claimed_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in ("sent", "skipped")

    def outcome(self) -> SendOutcome:
        status: Status = "sent" if self.status == "sent" else "skipped"
        return SendOutcome(status, self.reason, self.message_id, self.detail)


def message_id(store_id: str, idempotency_key: str) -> str:
    """The message's id, derived from its idempotency key: a retry finds the same message."""
    digest = hashlib.sha256(f"{store_id}\x00{idempotency_key}".encode()).hexdigest()
    return digest[:MESSAGE_ID_CHARS]


def token(
    purpose: str, message: str, store_id: str, customer_id: str, *extra: str, key: str
) -> str:
    return message + signing.sign(purpose, message, store_id, customer_id, *extra, key=key)


def token_message(value: str) -> str | None:
    """The message id a token names, if it has a token's shape (the signature is checked apart,
    against the send record's store and customer)."""
    return value[:MESSAGE_ID_CHARS] if _TOKEN.match(value) else None


def token_valid(
    purpose: str, value: str, store_id: str, customer_id: str, *extra: str, key: str
) -> bool:
    if not _TOKEN.match(value):
        return False
    message, signature = value[:MESSAGE_ID_CHARS], value[MESSAGE_ID_CHARS:]
    return signing.verify(purpose, signature, message, store_id, customer_id, *extra, key=key)


@dataclass(frozen=True)
class Links:
    """The public links of one message."""

    base_url: str
    message_id: str
    store_id: str
    customer_id: str
    key: str

    def _token(self, purpose: str, *extra: str) -> str:
        return token(
            purpose, self.message_id, self.store_id, self.customer_id, *extra, key=self.key
        )

    @property
    def unsubscribe(self) -> str:
        return f"{self.base_url}/unsubscribe/{self._token('unsubscribe')}"

    @property
    def pixel(self) -> str:
        return f"{self.base_url}/track/open/{self._token('open')}"

    def click(self, url: str) -> str:
        return f"{self.base_url}/track/click/{self._token('click', url)}?u={quote(url, safe='')}"


_ANCHOR = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def tracked_html(markup: str, links: Links) -> str:
    """Every http(s) link but the unsubscribe one goes through the click redirect; a pixel is
    added at the end of the body."""

    def rewrite(match: re.Match[str]) -> str:
        url = html.unescape(match.group(3)).strip()
        if not url.startswith(("http://", "https://")) or url == links.unsubscribe:
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{html.escape(links.click(url))}{match.group(2)}"

    rewritten = _ANCHOR.sub(rewrite, markup)
    pixel = f'<img src="{html.escape(links.pixel)}" width="1" height="1" alt="" />'
    closing = rewritten.lower().rfind("</body>")
    if closing < 0:
        return rewritten + pixel
    return rewritten[:closing] + pixel + rewritten[closing:]


@dataclass(frozen=True)
class Mail:
    sender: str
    to: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    unsubscribe_url: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)


def mime(mail: Mail) -> bytes:
    """The raw message SES sends. Raises ValueError for an address or header it cannot carry."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = " ".join(mail.subject.split())
    message["Message-ID"] = make_msgid(domain=mail.sender.rsplit("@", 1)[-1].strip(">"))
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    if mail.unsubscribe_url:
        # RFC 8058 one-click: mailbox providers POST "List-Unsubscribe=One-Click" to the URL.
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        message["References"] = " ".join(mail.references)
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message.as_bytes()


def valid_address(address: str) -> bool:
    return bool(re.fullmatch(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+", address))


@dataclass(frozen=True)
class Feedback:
    """What an SES notification says: which addresses to suppress for which sent message."""

    kind: str  # bounce | complaint
    ses_message_id: str
    addresses: tuple[str, ...]


def ses_feedback(body: str) -> Feedback | None:
    """A bounce or complaint from an SQS body (SNS-wrapped as SES publishes, or raw). None for
    anything else (deliveries, transient bounces: nothing to suppress)."""
    document = json.loads(body)
    if isinstance(document, dict) and document.get("Type") == "Notification":
        document = json.loads(document["Message"])
    if not isinstance(document, dict):
        return None
    kind = document.get("notificationType") or document.get("eventType")
    mail = document.get("mail") or {}
    ses_id = str(mail.get("messageId") or "")
    if kind == "Bounce":
        bounce = document.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return None  # soft bounces retry by themselves; only hard ones suppress
        recipients = bounce.get("bouncedRecipients") or []
        kind_name = "bounce"
    elif kind == "Complaint":
        recipients = (document.get("complaint") or {}).get("complainedRecipients") or []
        kind_name = "complaint"
    else:
        return None
    addresses = tuple(str(r["emailAddress"]) for r in recipients if r.get("emailAddress"))
    if not ses_id or not addresses:
        return None
    return Feedback(kind_name, ses_id, addresses)


def ses_message_header(ses_message_id: str, region: str) -> str:
    """The Message-ID SES gives what it sends (it replaces ours), for In-Reply-To."""
    host = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{ses_message_id}@{host}>"
