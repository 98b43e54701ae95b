"""Short HMAC signatures for links and addresses a service hands out (unsubscribe links,
tracking links, reply addresses).

The key is the service's own secret (never the token signing key, which only the authorizers
read). Each purpose gets a key derived from it, so a signature made for one purpose (a click
link) is never valid for another (an unsubscribe). Signatures are lowercase hex: they survive
e-mail local parts and URLs unchanged.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_CHARS = 32  # 128 bits


def _derive(key: str, purpose: str) -> bytes:
    return hmac.new(key.encode(), f"clientela-{purpose}-v1".encode(), hashlib.sha256).digest()


def sign(purpose: str, *parts: str, key: str) -> str:
    """The signature of `parts` (joined unambiguously) for `purpose`."""
    message = "\x1f".join(parts).encode()
    digest = hmac.new(_derive(key, purpose), message, hashlib.sha256)
    return digest.hexdigest()[:SIGNATURE_CHARS]


def verify(purpose: str, signature: str, *parts: str, key: str) -> bool:
    return hmac.compare_digest(signature.lower(), sign(purpose, *parts, key=key))
