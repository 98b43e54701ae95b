"""Tombstones of erased people: keyed digests of their contact details, never the details.

An erased person must not come back through an import or a newsletter sync, yet keeping their
e-mail would defeat the erasure. So only an HMAC-SHA256 of the normalised e-mail (lower case)
and of the E.164 phone is kept, keyed by a secret of the service: without the key a digest
cannot be checked against a list of guessed addresses. The store id and the kind are part of
the message, so the same person has unrelated digests in two stores and an e-mail never
matches a phone.
"""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.customers.profiles.rules import normalise_email, normalise_phone

EMAIL = "email"
PHONE = "phone"


def email_identity(value: str) -> str | None:
    """The form an e-mail is stored in, or None for text that is no e-mail at all."""
    try:
        return normalise_email(value)
    except ValueError:
        return None


def phone_identity(value: str) -> str | None:
    """E.164, or None for text that is no phone in international form."""
    try:
        return normalise_phone(value, None)
    except ValueError:
        return None


def digest(key: bytes, store_id: str, kind: str, identity: str) -> str:
    message = f"{kind}\x1f{store_id}\x1f{identity}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def tombstone_digests(
    key: bytes, store_id: str, *, email: str | None, phone: str | None
) -> list[str]:
    """The digests that identify a person by e-mail and by phone (those that are valid)."""
    digests: list[str] = []
    identity = email_identity(email) if email else None
    if identity:
        digests.append(digest(key, store_id, EMAIL, identity))
    identity = phone_identity(phone) if phone else None
    if identity:
        digests.append(digest(key, store_id, PHONE, identity))
    return digests
