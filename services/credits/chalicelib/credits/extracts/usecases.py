"""Writing one part of a wallets export: a page of the store's wallets in one currency with
their live lots and expiry dates, through the ledger's use cases.

One request, one part: at most `rows_per_part` wallets (a row per live lot each), then the
answer names the cursor to continue from (a shard and an index key: no personal data).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from pydantic import BaseModel

from chalicelib.credits.extracts import rules, store
from chalicelib.credits.ledger import usecases as ledger
from clientela.events import OutgoingEvent
from clientela_events.exports import (
    CREDITS_SOURCE,
    ExportPartFailedV1,
    ExportPartWrittenV1,
    ExportRequestedV1,
)

_EVENT_IDS = uuid.UUID("9c4f3f0e-5b7d-4d9a-a1a6-0b2e7c6d8f31")


def write_part(store_id: str, request: ExportRequestedV1) -> OutgoingEvent:
    """Writes the part the request asks for and returns the answer to publish: the same key
    for the same part, whatever the redeliveries."""
    if not request.key.startswith(f"exports/{store_id}/") or "/parts/" not in request.key:
        return failure(store_id, request, "The part's key is not the store's", "key")
    if request.target.kind != "all":
        return failure(
            store_id, request, "A wallets export covers every wallet of a currency", "target"
        )
    currency = request.currency or ledger.store_settings(store_id).default_currency
    position = json.loads(request.cursor) if request.cursor else None
    found, following = ledger.store_wallets_page(
        store_id, currency, limit=request.rows_per_part, position=position
    )
    rows = [row for wallet in found for row in rules.wallet_rows(wallet)]
    body = b"".join(json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in rows)
    store.put_part(request.bucket, request.key, body)
    data = ExportPartWrittenV1(
        job_id=request.job_id,
        seq=request.seq,
        key=request.key,
        rows=len(rows),
        last=following is None,
        cursor=None if following is None else json.dumps(following),
    )
    return _answer(store_id, "export.part_written", data, request)


def failure(
    store_id: str, request: ExportRequestedV1, reason: str, field: str | None
) -> OutgoingEvent:
    data = ExportPartFailedV1(
        job_id=request.job_id, seq=request.seq, reason=reason[:500], field=field
    )
    return _answer(store_id, "export.part_failed", data, request)


def _answer(
    store_id: str, event_type: str, data: BaseModel, request: ExportRequestedV1
) -> OutgoingEvent:
    return OutgoingEvent(
        event_type=event_type,
        version=1,
        event_id=uuid.uuid5(_EVENT_IDS, f"{store_id}/{request.job_id}/{request.seq}/{event_type}"),
        store_id=store_id,
        occurred_at=datetime.now(UTC),
        data=data,
        source=CREDITS_SOURCE,
    )
