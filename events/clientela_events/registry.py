"""Every contract, by event type and version: the list schemas and samples are generated from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from clientela_events import (
    automation,
    cashback,
    coupons,
    credits,
    customers,
    exports,
    flows,
    imports,
    privacy,
    referrals,
    segments,
    storefront,
)


@dataclass(frozen=True)
class Contract:
    source: str
    event_type: str
    version: int
    model: type[BaseModel]
    sample: dict[str, Any]
    # Other services that publish the same facts under their own source (see the contract).
    also_from: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.event_type}.v{self.version}"


_WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
_CUSTOMER: dict[str, Any] = {
    "id": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR",
    "email": "joao.silva@example.com.br",
    "phone": "+5511987654321",
    "first_name": "João",
    "last_name": "Silva",
    "city": "São Paulo",
    "country": "BR",
    "tags": ["vip"],
    "attributes": {"score": 1.5, "loyalty_tier": "gold", "newsletter_imported": True},
    "created_at": _WHEN,
    "updated_at": _WHEN,
    "version": 1,
}

CONTRACTS: tuple[Contract, ...] = (
    Contract(
        customers.SOURCE,
        "customer.created",
        1,
        customers.CustomerCreatedV1,
        {"customer": _CUSTOMER},
    ),
    Contract(
        customers.SOURCE,
        "customer.updated",
        1,
        customers.CustomerUpdatedV1,
        {
            "old": _CUSTOMER,
            "new": {**_CUSTOMER, "city": "Rio de Janeiro", "version": 2},
            "changed": ["city"],
        },
    ),
    Contract(
        customers.SOURCE,
        "customer.deleted",
        1,
        customers.CustomerDeletedV1,
        {"customer_id": _CUSTOMER["id"], "version": 2, "deleted_at": _WHEN},
    ),
    Contract(
        customers.SOURCE,
        "customer.merged",
        1,
        customers.CustomerMergedV1,
        {
            "merge_id": "01JD3Z9K2M4N6P8Q0R2S4T6V8W",
            "kept_id": _CUSTOMER["id"],
            "merged_ids": ["01JD3Z7A1B2C3D4E5F6G7H8J9K"],
            "merged_at": _WHEN,
        },
    ),
    # Store platform (clientela.storefront): orders, reviews and shopping activity.
    Contract(
        storefront.SOURCE,
        "order.placed",
        1,
        storefront.OrderPlacedV1,
        {
            "order_id": "ES-100234",
            "customer_id": _CUSTOMER["id"],
            "email": "maria.garcia@example.es",
            "placed_at": _WHEN,
            "currency": "EUR",
            "total": "84.85",
            "items": [
                {
                    "product_id": "p-7781",
                    "sku": "ZAP-TRAIL-42",
                    "name": "Zapatillas de trail Sierra",
                    "brand": "Montaña",
                    "category": "Calzado",
                    "quantity": 1,
                    "unit_price": "69.95",
                },
                {
                    "product_id": "p-1203",
                    "sku": "CALC-MERINO-M",
                    "name": "Calcetines de merino",
                    "brand": "Montaña",
                    "category": "Accesorios",
                    "quantity": 2,
                    "unit_price": "7.45",
                },
            ],
        },
        also_from=(customers.SOURCE,),
    ),
    Contract(
        storefront.SOURCE,
        "order.cancelled",
        1,
        storefront.OrderCancelledV1,
        {"order_id": "ES-100234", "cancelled_at": _WHEN, "reason": "Out of stock"},
        also_from=(customers.SOURCE,),
    ),
    Contract(
        storefront.SOURCE,
        "order.refunded",
        1,
        storefront.OrderRefundedV1,
        {
            "order_id": "ES-100234",
            "refund_id": "RF-5512",
            "amount": "14.90",
            "reason": "Damaged in transit",
            "refunded_at": _WHEN,
        },
        also_from=(customers.SOURCE,),
    ),
    Contract(
        storefront.SOURCE,
        "review.created",
        1,
        storefront.ReviewCreatedV1,
        {
            "review_id": "RV-88012",
            "customer_id": _CUSTOMER["id"],
            "order_id": "ES-100234",
            "product_id": "p-7781",
            "rating": 5,
            "at": _WHEN,
        },
    ),
    Contract(
        storefront.SOURCE,
        "product.viewed",
        1,
        storefront.ProductViewedV1,
        {
            "customer_id": _CUSTOMER["id"],
            "product_id": "p-7781",
            "sku": "ZAP-TRAIL-42",
            "name": "Zapatillas de trail Sierra",
            "brand": "Montaña",
            "category": "Calzado",
            "price": "69.95",
            "currency": "EUR",
            "at": _WHEN,
            "device": "mobile",
        },
    ),
    Contract(
        storefront.SOURCE,
        "cart.updated",
        1,
        storefront.CartUpdatedV1,
        {
            "email": "maria.garcia@example.es",
            "product_id": "p-1203",
            "sku": "CALC-MERINO-M",
            "name": "Calcetines de merino",
            "brand": "Montaña",
            "category": "Accesorios",
            "price": "7.45",
            "currency": "EUR",
            "quantity": 2,
            "at": _WHEN,
            "device": "desktop",
        },
    ),
    # Automation (clientela.automation): e-mails and conversations, never their content.
    Contract(
        automation.SOURCE,
        "email.sent",
        1,
        automation.EmailSentV1,
        {
            "customer_id": _CUSTOMER["id"],
            "message_id": "msg-01JD40B7Y2",
            "flow_id": "flow-welcome",
            "flow_name": "Welcome series",
        },
    ),
    Contract(
        automation.SOURCE,
        "email.opened",
        1,
        automation.EmailOpenedV1,
        {"customer_id": _CUSTOMER["id"], "message_id": "msg-01JD40B7Y2", "flow_id": "flow-welcome"},
    ),
    Contract(
        automation.SOURCE,
        "email.clicked",
        1,
        automation.EmailClickedV1,
        {
            "customer_id": _CUSTOMER["id"],
            "message_id": "msg-01JD40B7Y2",
            "url": "https://loja.example.com.br/colecao/inverno",
            "flow_id": "flow-welcome",
        },
    ),
    Contract(
        automation.SOURCE,
        "email.unsubscribed",
        1,
        automation.EmailUnsubscribedV1,
        {"customer_id": _CUSTOMER["id"], "message_id": "3f1c9a7e0b2d4c6e8a1f3b5d7c", "at": _WHEN},
    ),
    Contract(
        automation.SOURCE,
        "message.sent",
        1,
        automation.MessageSentV1,
        {
            "customer_id": _CUSTOMER["id"],
            "thread_id": "thr-5521",
            "message_id": "msg-01JD41C2K9",
            "channel": "whatsapp",
        },
    ),
    Contract(
        automation.SOURCE,
        "message.replied",
        1,
        automation.MessageRepliedV1,
        {
            "customer_id": _CUSTOMER["id"],
            "thread_id": "thr-5521",
            "message_id": "msg-01JD41D8P3",
            "channel": "whatsapp",
        },
    ),
    # Credits (clientela.credits): coupons for one customer.
    Contract(
        coupons.SOURCE,
        "coupon.created",
        1,
        coupons.CouponCreatedV1,
        {
            "code": "MARIA-10",
            "customer_id": _CUSTOMER["id"],
            "kind": "percentage",
            "percentage": 10,
            "currency": "BRL",
            "minimum_order": "100.00",
            "expires_at": _WHEN,
            "usage_limit": 1,
            "created_at": _WHEN,
        },
    ),
    Contract(
        coupons.SOURCE,
        "coupon.redeemed",
        1,
        coupons.CouponRedeemedV1,
        {
            "code": "MARIA-10",
            "customer_id": _CUSTOMER["id"],
            "order_id": "BR-200871",
            "subtotal": "150.00",
            "discount": "15.00",
            "currency": "BRL",
            "remaining_uses": 0,
            "redeemed_at": _WHEN,
        },
    ),
    Contract(
        coupons.SOURCE,
        "coupon.reverted",
        1,
        coupons.CouponRevertedV1,
        {
            "code": "MARIA-10",
            "customer_id": _CUSTOMER["id"],
            "order_id": "BR-200871",
            "discount": "15.00",
            "currency": "BRL",
            "reverted_at": _WHEN,
        },
    ),
    # Credits (clientela.credits): refer-a-friend, one shape for every step.
    Contract(
        referrals.SOURCE,
        "referral.created",
        1,
        referrals.ReferralV1,
        {
            "referral_id": "01JD45R7T8V9W0X1Y2Z3A4B5C6",
            "referrer_id": _CUSTOMER["id"],
            "friend_id": "01JD3Z7A1B2C3D4E5F6G7H8J9K",
            "status": "pending",
            "reason": "signed-up",
            "at": _WHEN,
        },
    ),
    Contract(
        referrals.SOURCE,
        "referral.qualified",
        1,
        referrals.ReferralV1,
        {
            "referral_id": "01JD45R7T8V9W0X1Y2Z3A4B5C6",
            "referrer_id": _CUSTOMER["id"],
            "friend_id": "01JD3Z7A1B2C3D4E5F6G7H8J9K",
            "status": "qualified",
            "reason": "first-order-paid",
            "order_id": "BR-200871",
            "at": _WHEN,
        },
    ),
    Contract(
        referrals.SOURCE,
        "referral.flagged",
        1,
        referrals.ReferralV1,
        {
            "referral_id": "01JD45R7T8V9W0X1Y2Z3A4B5C6",
            "referrer_id": _CUSTOMER["id"],
            "friend_id": "01JD3Z7A1B2C3D4E5F6G7H8J9K",
            "status": "flagged",
            "reason": "similar-email",
            "at": _WHEN,
        },
    ),
    Contract(
        referrals.SOURCE,
        "referral.rewarded",
        1,
        referrals.ReferralV1,
        {
            "referral_id": "01JD45R7T8V9W0X1Y2Z3A4B5C6",
            "referrer_id": _CUSTOMER["id"],
            "friend_id": "01JD3Z7A1B2C3D4E5F6G7H8J9K",
            "status": "rewarded",
            "reason": "hold-window-passed",
            "order_id": "BR-200871",
            "at": _WHEN,
        },
    ),
    Contract(
        referrals.SOURCE,
        "referral.voided",
        1,
        referrals.ReferralV1,
        {
            "referral_id": "01JD45R7T8V9W0X1Y2Z3A4B5C6",
            "referrer_id": _CUSTOMER["id"],
            "friend_id": "01JD3Z7A1B2C3D4E5F6G7H8J9K",
            "status": "voided",
            "reason": "order-cancelled",
            "order_id": "BR-200871",
            "at": _WHEN,
        },
    ),
    # Credits (clientela.credits): wallet movements; amounts are decimal strings.
    Contract(
        credits.SOURCE,
        "credit.granted",
        1,
        credits.CreditGrantedV1,
        {
            "customer_id": _CUSTOMER["id"],
            "entry_id": "cr-01JD42A1B2",
            "kind": "referral",
            "amount": "20.00",
            "currency": "BRL",
            "expires_at": datetime(2027, 5, 23, 12, 0, tzinfo=UTC),
            "balance_after": "35.50",
        },
    ),
    Contract(
        credits.SOURCE,
        "credit.spent",
        1,
        credits.CreditSpentV1,
        {
            "customer_id": _CUSTOMER["id"],
            "entry_id": "cr-01JD43F7H8",
            "amount": "15.50",
            "currency": "BRL",
            "order_id": "BR-200871",
            "balance_after": "20.00",
        },
    ),
    Contract(
        credits.SOURCE,
        "credit.expired",
        1,
        credits.CreditExpiredV1,
        {
            "customer_id": _CUSTOMER["id"],
            "entry_id": "cr-01JD44M3N4",
            "amount": "20.00",
            "currency": "BRL",
            "balance_after": "0.00",
        },
    ),
    Contract(
        credits.SOURCE,
        "credit.reverted",
        1,
        credits.CreditRevertedV1,
        {
            "customer_id": _CUSTOMER["id"],
            "entry_id": "cr-01JD45P9Q1",
            "debit_id": "cr-01JD43F7H8",
            "amount": "15.50",
            "currency": "BRL",
            "order_id": "BR-200871",
            "reexpired": "0.00",
            "balance_after": "35.50",
        },
    ),
    Contract(
        credits.SOURCE,
        "credit.adjusted",
        1,
        credits.CreditAdjustedV1,
        {
            "customer_id": _CUSTOMER["id"],
            "entry_id": "cr-01JD46R2S3",
            "reason": "admin",
            "direction": "taken",
            "amount": "5.00",
            "currency": "BRL",
            "lot_id": None,
            "kind": None,
            "note": "goodwill credit given twice",
            "balance_after": "30.50",
        },
    ),
    Contract(
        credits.SOURCE,
        "credit.expiring",
        1,
        credits.CreditExpiringV1,
        {
            "customer_id": _CUSTOMER["id"],
            "lot_id": "lot-01JD42A1B2",
            "kind": "bonus",
            "remaining": "20.00",
            "currency": "BRL",
            "expires_at": datetime(2027, 5, 23, 12, 0, tzinfo=UTC),
        },
    ),
    Contract(
        cashback.SOURCE,
        "cashback.pending",
        1,
        cashback.CashbackV1,
        {
            "customer_id": _CUSTOMER["id"],
            "order_id": "BR-200871",
            "amount": "9.95",
            "currency": "BRL",
            "status": "pending",
            "reason": "order-placed",
            "due_at": datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
            "at": _WHEN,
        },
    ),
    Contract(
        cashback.SOURCE,
        "cashback.voided",
        1,
        cashback.CashbackV1,
        {
            "customer_id": _CUSTOMER["id"],
            "order_id": "BR-200871",
            "amount": "9.95",
            "currency": "BRL",
            "status": "voided",
            "reason": "order-cancelled",
            "due_at": datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
            "at": _WHEN,
        },
    ),
    # Imports (exports service reads the file, customers service plans and applies it).
    Contract(
        imports.SOURCE,
        "import.rows.submitted",
        1,
        imports.ImportRowsSubmittedV1,
        {
            "import_id": "01JD40A1B2C3D4E5F6G7H8J9KM",
            "chunk": 0,
            "options": {"update_existing": True, "tags": ["newsletter"]},
            "rows": [
                {
                    "row": 2,
                    "fields": {
                        "email": "joao.silva@example.com.br",
                        "first_name": "João",
                        "email_consent": "subscribed",
                        "email_consent_at": "2026-11-20 10:31:00",
                    },
                }
            ],
        },
    ),
    Contract(
        imports.CUSTOMERS_SOURCE,
        "import.rows.previewed",
        1,
        imports.ImportRowsPreviewedV1,
        {
            "import_id": "01JD40A1B2C3D4E5F6G7H8J9KM",
            "chunk": 0,
            "counts": {"create": 1, "update": 0, "unchanged": 0, "refused": 1, "repeated": 1},
            "issues": [
                {"row": 3, "kind": "refused", "column": "email", "reason": "not an e-mail"},
                {
                    "row": 4,
                    "kind": "repeated",
                    "column": "email",
                    "reason": "same e-mail",
                    "repeats_row": 2,
                },
            ],
        },
    ),
    Contract(
        imports.SOURCE,
        "import.commit.requested",
        1,
        imports.ImportCommitRequestedV1,
        {"import_id": "01JD40A1B2C3D4E5F6G7H8J9KM", "chunk": 0},
    ),
    Contract(
        imports.CUSTOMERS_SOURCE,
        "import.rows.applied",
        1,
        imports.ImportRowsAppliedV1,
        {
            "import_id": "01JD40A1B2C3D4E5F6G7H8J9KM",
            "chunk": 0,
            "counts": {"create": 1, "update": 0, "unchanged": 0, "refused": 0, "repeated": 0},
            "moved": [],
        },
    ),
)

_EXPORT_KEY = "exports/demo-store/exp-01JD46B2C3/parts/00000.jsonl"
CONTRACTS += (
    Contract(
        exports.SOURCE,
        "export.requested",
        1,
        exports.ExportRequestedV1,
        {
            "job_id": "exp-01JD46B2C3",
            "kind": "customers",
            "target": {"kind": "filter", "filter": {"country": "BR", "tag": ["vip"]}},
            "seq": 0,
            "rows_per_part": 1000,
            "bucket": "clientela-exports-123456789012-us-east-1",
            "key": _EXPORT_KEY,
        },
    ),
    Contract(
        exports.CUSTOMERS_SOURCE,
        "export.part_written",
        1,
        exports.ExportPartWrittenV1,
        {
            "job_id": "exp-01JD46B2C3",
            "seq": 0,
            "key": _EXPORT_KEY,
            "rows": 1000,
            "last": False,
            "cursor": '{"after": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR"}',
            "total": 5230,
        },
        also_from=(exports.CREDITS_SOURCE,),
    ),
    Contract(
        exports.CUSTOMERS_SOURCE,
        "export.part_failed",
        1,
        exports.ExportPartFailedV1,
        {
            "job_id": "exp-01JD46B2C3",
            "seq": 0,
            "reason": "No segment with this id",
            "field": "target.segment_id",
        },
        also_from=(exports.CREDITS_SOURCE,),
    ),
)

# Privacy requests (clientela.exports runs them; every service answers under its own source).
_PRIVACY_REQUEST = {"request_id": "01JD46P1R2Q3S4T5V6W7X8Y9Z0", "customer_id": _CUSTOMER["id"]}
_ANSWERING = (customers.SOURCE, credits.SOURCE, automation.SOURCE, privacy.SOURCE)
CONTRACTS += (
    Contract(
        privacy.SOURCE,
        "privacy.requested",
        1,
        privacy.PrivacyRequestedV1,
        {
            **_PRIVACY_REQUEST,
            "kind": "access",
            "requested_at": _WHEN,
            "parts_bucket": "clientela-exports-123456789012-us-east-1",
            "parts_prefix": "privacy/demo-store/01JD46P1R2Q3S4T5V6W7X8Y9Z0/",
        },
    ),
    Contract(
        _ANSWERING[0],
        "privacy.contributed",
        1,
        privacy.PrivacyContributedV1,
        {
            **_PRIVACY_REQUEST,
            "service": "customers",
            "part_key": "privacy/demo-store/01JD46P1R2Q3S4T5V6W7X8Y9Z0/customers.json",
            "records": 42,
            "contributed_at": _WHEN,
        },
        also_from=_ANSWERING[1:],
    ),
    Contract(
        _ANSWERING[0],
        "privacy.erased",
        1,
        privacy.PrivacyErasedV1,
        {
            **_PRIVACY_REQUEST,
            "service": "customers",
            "erased": {"profile": 1, "orders_anonymised": 3, "timeline": 17, "tombstones": 2},
            "erased_at": _WHEN,
        },
        also_from=_ANSWERING[1:],
    ),
    Contract(
        _ANSWERING[0],
        "privacy.failed",
        1,
        privacy.PrivacyFailedV1,
        {
            **_PRIVACY_REQUEST,
            "service": "customers",
            "reason": "customer-not-found",
            "detail": "The store has no customer with this id",
            "failed_at": _WHEN,
        },
        also_from=_ANSWERING[1:],
    ),
)

CONTRACTS = (
    *CONTRACTS,
    Contract(
        flows.SOURCE,
        "flow.tags_requested",
        1,
        flows.FlowTagsRequestedV1,
        {
            "customer_id": _CUSTOMER["id"],
            "flow_id": "01JD3Z8A1B2C3D4E5F6G7H8J9K",
            "run_id": "run-3f1a",
            "add": ["cart-abandoner"],
            "remove": [],
        },
    ),
    Contract(
        segments.SOURCE,
        "segment.entered",
        1,
        segments.SegmentEnteredV1,
        {"segment_id": "01JD3Z9S1E2G3M4E5N6T7A8B9C", "customer_id": _CUSTOMER["id"], "at": _WHEN},
    ),
    Contract(
        segments.SOURCE,
        "segment.exited",
        1,
        segments.SegmentExitedV1,
        {"segment_id": "01JD3Z9S1E2G3M4E5N6T7A8B9C", "customer_id": _CUSTOMER["id"], "at": _WHEN},
    ),
)

SAMPLE_EVENT_ID = UUID("0b6f6b1e-3d0c-5d7e-9a43-0c7f2f4a9b11")


def contract_for(event_type: str, version: int) -> Contract:
    for contract in CONTRACTS:
        if contract.event_type == event_type and contract.version == version:
            return contract
    raise KeyError(f"no contract for {event_type} v{version}")
