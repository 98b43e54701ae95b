"""Rows of export parts: a customer, an order, a report row as the flat JSON object the exports
service turns into a file (column names: chalicelib.exports.exports.rules.COLUMNS)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.customers.orders.reports.rules import Row
from chalicelib.customers.orders.rules import Order
from chalicelib.customers.profiles.rules import Customer


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def customer_row(customer: Customer) -> dict[str, Any]:
    postcode = customer.attributes.get("postcode") or customer.attributes.get("zip")
    return {
        "id": customer.id,
        "email": customer.email,
        "phone": customer.phone,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "city": customer.city,
        "region": customer.region,
        "postcode": None if postcode is None else str(postcode),
        "country": customer.country,
        "gender": customer.gender,
        "birthday": _day(customer.birthday),
        "language": customer.language,
        "tags": list(customer.tags),
        "favorite": customer.favorite,
        "email_consent": customer.email_consent.state,
        "sms_consent": customer.sms_consent.state,
        "orders_count": customer.orders_count,
        "total_spent": _amount(customer.total_spent) if customer.currency else None,
        "currency": customer.currency,
        "first_order_at": _moment(customer.first_order_at),
        "last_order_at": _moment(customer.last_order_at),
        "last_seen_at": _moment(customer.last_seen_at),
        "created_at": _moment(customer.created_at),
    }


def email_row(customer: Customer) -> dict[str, Any] | None:
    return {"email": customer.email} if customer.email else None


def order_row(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "email": order.email,
        "kind": order.kind,
        "status": order.status,
        "placed_at": _moment(order.placed_at),
        "total": _amount(order.total),
        "refunded_total": _amount(order.refunded_total),
        "currency": order.currency,
        "items": sum(item.quantity for item in order.items),
        "scheduled_at": _moment(order.scheduled_at),
    }


def report_row(row: Row) -> dict[str, Any]:
    return {
        "email": row.email,
        "customer_id": row.customer_id,
        "orders": row.orders,
        "amount": _amount(row.amount),
        "currency": row.currency,
        "first_order_at": row.first_order_at,
        "last_order_at": row.last_order_at,
    }


def jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in rows)
