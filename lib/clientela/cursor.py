"""Opaque, tamper-proof pagination cursors.

A cursor is the position of the last item of a page plus the store and the query it belongs to,
signed with HMAC-SHA256. A cursor from another store, another query or edited by hand is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from clientela.problems import FieldError, invalid

_SIGNATURE_BYTES = 16


def _derive(key: str) -> bytes:
    # A key of its own, derived from the platform key, so a cursor is never a valid token part.
    return hmac.new(key.encode(), b"clientela-cursor-v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(position: dict[str, Any], *, store_id: str, scope: str, key: str) -> str:
    payload = json.dumps(
        {"p": position, "s": store_id, "q": scope}, separators=(",", ":"), sort_keys=True
    ).encode()
    signature = hmac.new(_derive(key), payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return _b64(signature + payload)


def decode_cursor(cursor: str, *, store_id: str, scope: str, key: str) -> dict[str, Any]:
    refused = invalid(
        [FieldError("cursor", "Not a cursor of this query, or its signing key changed")],
        "The cursor is not one this API gave for this query",
    )
    try:
        raw = _unb64(cursor)
    except (ValueError, TypeError):
        raise refused from None
    signature, payload = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
    expected = hmac.new(_derive(key), payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    if len(signature) != _SIGNATURE_BYTES or not hmac.compare_digest(signature, expected):
        raise refused
    try:
        doc = json.loads(payload)
    except ValueError:
        raise refused from None
    if doc.get("s") != store_id or doc.get("q") != scope or not isinstance(doc.get("p"), dict):
        raise refused
    position: dict[str, Any] = doc["p"]
    return position
