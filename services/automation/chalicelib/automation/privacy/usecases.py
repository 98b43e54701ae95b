"""The automation service's part of a privacy request (clientela_events.privacy).

Access: the contact (what the read model keeps of the profile), every send and skip with its
engagement, the one-to-one threads with their messages, and the flow runs (each decision with
its date, and the run's sends). Erasure: the contact becomes a tombstone no late event can
overwrite, threads and messages are deleted, open runs are stopped and every run and
per-customer flow item deleted (flow statistics stay as counters), sends keep their statistics
without the customer. Each step is idempotent; a redelivery answers the same event again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.automation.contacts.usecases import contact_store
from chalicelib.automation.messages.usecases import message_store
from chalicelib.automation.privacy.store import PrivacyStore
from chalicelib.automation.runs import usecases as runs
from chalicelib.automation.sending.usecases import send_store
from chalicelib.automation.settings import settings
from clientela import aws
from clientela import privacy as protocol
from clientela_events.privacy import PrivacyRequestedV1

# The version an erased contact's tombstone holds: no event of the profile is newer.
ERASED_VERSION = 2**62
_THREADS = 1000


def privacy_store() -> PrivacyStore:
    return PrivacyStore(aws.dynamodb(), settings().mail_table)


def access_document(store_id: str, customer_id: str) -> dict[str, Any]:
    threads = message_store().threads_of(store_id, customer_id, _THREADS)
    return {
        "contact": contact_store().get(store_id, customer_id),
        "sends": list(send_store().of_customer(store_id, customer_id)),
        "threads": [
            {**thread, "messages": message_store().messages_of(thread["thread_id"])}
            for thread in threads
            if thread.get("store_id") == store_id
        ],
        "flow_runs": runs.runs_of_customer(store_id, customer_id),
    }


def contribute_access(store_id: str, request: PrivacyRequestedV1, now: datetime) -> None:
    document = access_document(store_id, request.customer_id)
    records = (
        (document["contact"] is not None)
        + len(document["sends"])
        + sum(1 + len(t["messages"]) for t in document["threads"])
        + len(document["flow_runs"])
    )
    protocol.contributed(store_id, request, "automation", document, records=records, at=now)


def erase(store_id: str, request: PrivacyRequestedV1, now: datetime) -> dict[str, int]:
    customer_id = request.customer_id
    store = privacy_store()
    counts = {
        "contact": int(contact_store().get(store_id, customer_id) is not None),
        "threads": 0,
        "messages": 0,
        "sends_unlinked": 0,
    }
    contact_store().put_tombstone(store_id, customer_id, ERASED_VERSION, erased=True)
    for thread in message_store().threads_of(store_id, customer_id, _THREADS):
        if thread.get("store_id") == store_id:
            counts["messages"] += store.delete_thread(thread["thread_id"])
            counts["threads"] += 1
    # Before the sends lose their tie: nothing of a run may send to the person afterwards.
    counts.update(runs.forget_customer(store_id, customer_id))
    for send in list(send_store().of_customer(store_id, customer_id)):
        store.unlink_send(send.message_id)
        counts["sends_unlinked"] += 1
    protocol.erased(store_id, request, "automation", counts, at=now)
    return counts
