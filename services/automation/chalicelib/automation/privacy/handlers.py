"""`privacy.requested` from the exports service, through the contacts queue (automation.inbox)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.automation.privacy import usecases
from clientela.events import IncomingEvent
from clientela_events.privacy import PrivacyRequestedV1

FOLLOWED_EVENTS = ("privacy.requested",)


def follow(event: IncomingEvent) -> str:
    request = event.data
    if not isinstance(request, PrivacyRequestedV1):
        raise TypeError("privacy.requested does not carry PrivacyRequestedV1")
    store_id = event.metadata.store_id
    now = datetime.now(UTC)
    if request.kind == "access":
        usecases.contribute_access(store_id, request, now)
        return "contributed"
    usecases.erase(store_id, request, now)
    return "erased"
