"""Merging duplicate profiles, as pure rules: what the kept profile becomes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from chalicelib.customers.errors import CustomerError
from chalicelib.customers.profiles.rules import (
    CONSENT_CHANNELS,
    ENGAGEMENT_COUNTERS,
    MAX_ATTRIBUTES,
    MAX_NOTES_LENGTH,
    MAX_TAGS,
    SOCIAL_NETWORKS,
    Customer,
    now,
)


@dataclass(frozen=True)
class MergeOutcome:
    """What merging profiles into one gives: the kept profile and what moved into it."""

    kept: Customer
    merged: tuple[Customer, ...]
    tags_added: tuple[str, ...]
    attributes_added: tuple[str, ...]
    fields_filled: tuple[str, ...]


class MergeRefused(CustomerError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field)
        self.field = field
        self.reason = reason


_FILLABLE = (
    "phone",
    "first_name",
    "last_name",
    "city",
    "region",
    "country",
    "gender",
    "birthday",
    "language",
    "photo_url",
)


def _filled(kept: Customer, donors: list[Customer]) -> dict[str, Any]:
    """Fields the kept profile lacks, from the first donor that has them."""
    values: dict[str, Any] = {}
    for name in _FILLABLE:
        if getattr(kept, name) is None:
            donor = next((getattr(o, name) for o in donors if getattr(o, name) is not None), None)
            if donor is not None:
                values[name] = donor
    return values


def _united(kept: dict[str, Any], donors: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """Keys of the kept mapping, plus the donors' keys it lacks (first donor wins)."""
    united = dict(kept)
    for donor in donors:
        for key, value in donor.items():
            united.setdefault(key, value)
    if len(united) > limit:
        raise MergeRefused("merge_ids", f"the merged profile would carry more than {limit}")
    return united


def _strictest(kept: Customer, donors: list[Customer]) -> dict[str, Any]:
    consents: dict[str, Any] = {}
    for channel in CONSENT_CHANNELS:
        records = [kept.consent(channel), *(o.consent(channel) for o in donors)]
        strictest = max(records, key=lambda c: c.restrictiveness)
        if strictest.restrictiveness > kept.consent(channel).restrictiveness:
            consents[f"{channel}_consent"] = strictest
    return consents


def merge_profiles(kept: Customer, others: list[Customer]) -> MergeOutcome:
    """Duplicates folded into the kept profile.

    The kept profile's values win; fields it lacks are filled from the others (newest first);
    tags are united; attributes and social accounts added where the kept profile has none of
    that key; engagement counters summed; notes appended; favourite if any was. Consent on each
    channel keeps the most restrictive record. E-mails do not move: the others' e-mails are
    released when they are deleted.
    """
    donors = sorted(others, key=lambda c: c.id, reverse=True)
    values = _filled(kept, donors)
    tags = sorted({*kept.tags, *(t for o in donors for t in o.tags)})
    if len(tags) > MAX_TAGS:
        raise MergeRefused("merge_ids", f"the merged profile would carry more than {MAX_TAGS} tags")
    attributes = _united(kept.attributes, [o.attributes for o in donors], MAX_ATTRIBUTES)
    social = _united(kept.social, [o.social for o in donors], len(SOCIAL_NETWORKS))
    engagement = {
        name: kept.engagement.get(name, 0) + sum(o.engagement.get(name, 0) for o in donors)
        for name in ENGAGEMENT_COUNTERS
    }
    notes = "\n\n".join(n for n in [kept.notes, *(o.notes for o in donors)] if n) or None
    # The kept profile's own photo stays; without one it takes the newest donor's.
    taken_photo = None if kept.photo else next((o.photo for o in donors if o.photo), None)
    merged = replace(
        kept,
        **values,
        **_strictest(kept, donors),
        tags=tags,
        attributes=attributes,
        social=social,
        engagement={k: v for k, v in engagement.items() if v},
        notes=notes[:MAX_NOTES_LENGTH] if notes else None,
        favorite=kept.favorite or any(o.favorite for o in donors),
        photo=kept.photo or taken_photo,
        updated_at=now(),
        version=kept.version + 1,
    )
    return MergeOutcome(
        kept=merged,
        merged=tuple(donors),
        tags_added=tuple(sorted(set(tags) - set(kept.tags))),
        attributes_added=tuple(sorted(set(attributes) - set(kept.attributes))),
        fields_filled=tuple(sorted([*values, *(["photo"] if taken_photo else [])])),
    )
