"""Pure rules of privacy requests: deadlines, the request's state, GDPR article 15 sections.

Deadlines: GDPR (art. 12(3)) gives one month, LGPD (art. 19 II) 15 days for the complete answer.
Which one binds depends on where the person lives, which no service knows reliably (a profile's
country is optional and is not residence), so every request shows both and is due at the
earlier: meeting LGPD's 15 days meets GDPR's month too.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from clientela_events.privacy import SERVICES

Kind = Literal["access", "erasure"]
Format = Literal["json", "xml", "html"]
Status = Literal["in_progress", "completed", "failed"]
Outcome = Literal["contributed", "erased", "failed"]

LGPD_DAYS = 15
CONTENT_TYPES: dict[str, str] = {
    "json": "application/json",
    "xml": "application/xml",
    "html": "text/html; charset=utf-8",
}


def one_month_later(moment: datetime) -> datetime:
    """The same day of the next month, or its last day when it has no such day (31 Jan ->
    28/29 Feb), as GDPR's "one month" is read."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def deadlines(requested_at: datetime) -> dict[str, datetime]:
    return {
        "gdpr": one_month_later(requested_at),
        "lgpd": requested_at + timedelta(days=LGPD_DAYS),
    }


def due_at(requested_at: datetime) -> datetime:
    return min(deadlines(requested_at).values())


@dataclass(frozen=True)
class Answer:
    """One service's answer, as kept on the request (no personal data: ids, counts, keys)."""

    service: str
    outcome: Outcome
    at: datetime
    records: int | None = None
    part_key: str | None = None
    erased: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    detail: str | None = None


def confirms(kind: Kind, answer: Answer) -> bool:
    return answer.outcome == ("contributed" if kind == "access" else "erased")


def waiting_for(kind: Kind, answers: dict[str, Answer]) -> list[str]:
    """The services whose confirmation the request still waits for (none once failed)."""
    return [s for s in SERVICES if s not in answers or not confirms(kind, answers[s])]


def failure(answers: dict[str, Answer]) -> Answer | None:
    failed = [a for s in SERVICES if (a := answers.get(s)) is not None and a.outcome == "failed"]
    return failed[0] if failed else None


def waiting_reason(kind: Kind, answers: dict[str, Answer], now: datetime, due: datetime) -> str:
    """Why the request is not complete yet, in words for the store's staff."""
    waiting = waiting_for(kind, answers)
    late = " (overdue)" if now > due else ""
    return f"Waiting for {', '.join(waiting)} to confirm{late}"


# GDPR article 15(1): what the person is told beside their data, per service.
ARTICLE_15: dict[str, dict[str, str]] = {
    "purposes": {
        "customers": "Keeping the store's customer record: contact, orders, consent and support.",
        "credits": "Store credit, referral rewards and coupons the customer holds or earned.",
        "automation": "E-mails and messages the store sends, and the customer's replies.",
        "exports": "Files of customer data the store's staff exported or imported.",
    },
    "categories": {
        "customers": "Identity and contact data, location, consent records, orders, reviews,"
        " activity on the storefront.",
        "credits": "Credit balances and movements, referral codes and referrals, coupons.",
        "automation": "Messages sent and received, their delivery and engagement, flow runs.",
        "exports": "Records of which exports and privacy requests concerned the customer.",
    },
    "recipients": {
        "customers": "The store's staff; Clientela as processor (AWS, in the store's region).",
        "credits": "The store's staff; Clientela as processor.",
        "automation": "The store's staff; Clientela as processor; Amazon SES to deliver e-mail.",
        "exports": "The store's staff who requested the files.",
    },
    "retention": {
        "customers": "While the customer relationship lasts or until erasure; order totals and"
        " dates are kept without the person for accounting.",
        "credits": "Ledger sums for as long as accounting law requires, without the person"
        " after erasure.",
        "automation": "Message records for as long as the store keeps the contact.",
        "exports": "Export files 7 days; access files 30 days; request records without"
        " personal data, to prove compliance.",
    },
    "source": {
        "customers": "The customer, the store's staff, the storefront, imports.",
        "credits": "The store's programmes and staff; the customer's orders.",
        "automation": "The store's flows and staff; the customer's replies.",
        "exports": "The store's staff.",
    },
}


def assemble(meta: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
    """The access file's content: the request, the article 15 sections, every service's part."""
    return {
        "request": meta,
        "article_15": {
            section: [{"service": s, "text": texts[s]} for s in SERVICES]
            for section, texts in ARTICLE_15.items()
        },
        "data": {s: parts.get(s) for s in SERVICES},
    }
