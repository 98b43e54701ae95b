"""Writing one part of a wallets export: a page of the store's wallets in one currency with
their live lots and expiry dates, through the ledger's use cases.

One request, one part: at most `rows_per_part` wallets (a row per live lot each), then the
answer names the cursor to continue from (a shard and an index key: no personal data).
"""

from __future__ import annotations

import json

from chalicelib.credits.extracts import rules, store
from chalicelib.credits.ledger import usecases as ledger
from clientela import extracts
from clientela.events import OutgoingEvent
from clientela_events.exports import (
    CREDITS_SOURCE,
    ExportPartWrittenV1,
    ExportRequestedV1,
)


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
    return extracts.answer(store_id, request, "export.part_written", data, source=CREDITS_SOURCE)


def failure(
    store_id: str, request: ExportRequestedV1, reason: str, field: str | None
) -> OutgoingEvent:
    return extracts.failed(store_id, request, reason, field, source=CREDITS_SOURCE)
