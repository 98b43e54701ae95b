"""`privacy.requested` from the exports service: the customers service's part of the request.

Imported by the inbox (`inbox.AREAS`) for its side effect: registering the handler in
`inbox.HANDLERS`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.customers.inbox import follows
from chalicelib.customers.privacy import usecases
from clientela.events import IncomingEvent
from clientela_events.privacy import PrivacyRequestedV1


@follows("privacy.requested")
def on_privacy_requested(event: IncomingEvent) -> None:
    request = event.data
    if not isinstance(request, PrivacyRequestedV1):
        raise TypeError("privacy.requested does not carry PrivacyRequestedV1")
    store_id = event.metadata.store_id
    now = datetime.now(UTC)
    if request.kind == "access":
        usecases.contribute_access(store_id, request, now)
    else:
        usecases.erase(store_id, request, now)
