"""Messages to one customer over HTTP: write (at once, by e-mail), list threads, read one,
answer in one."""

from __future__ import annotations

from datetime import date

from chalicelib.automation.messages import usecases
from chalicelib.automation.messages.models import (
    DroppedDay,
    DroppedQuery,
    DroppedReplies,
    MessageIn,
    ReplyIn,
    ThreadList,
    ThreadOut,
    ThreadQuery,
)
from chalicelib.automation.settings import link_key
from chalicelib.automation.templates.rules import TemplateError
from clientela.api import Call, Reply, Routes, idempotency_key
from clientela.cursor import decode_cursor, encode_cursor
from clientela.problems import FieldError, Problem, invalid

routes = Routes()
register = routes.register


def _cannot_mail(error: usecases.CannotMail) -> Problem:
    return Problem(
        409,
        "cannot-mail",
        "This customer cannot be e-mailed",
        {
            "no_email": "The customer has no e-mail address",
            "invalid_address": "The customer's e-mail address is not valid",
            "suppressed": "The address bounced or complained: mail to it is suppressed",
            "not_subscribed": "A marketing message needs the customer's e-mail consent",
        }.get(error.reason, error.reason),
        extra={"reason": error.reason},
    )


@routes.route(
    "/customers/{customer_id}/messages",
    "POST",
    summary="E-mail a customer (a new conversation)",
    description=(
        "Sent at once through SES, with a Reply-To that threads the customer's answers here."
        " Not marketing: no consent needed, but a suppressed address (bounce, complaint) is a"
        " 409. With an Idempotency-Key, a retry answers the same thread and sends nothing."
        " Publishes `message.sent`."
    ),
    body=MessageIn,
    response=ThreadOut,
    status=201,
    errors=(409,),
    headers=("Idempotency-Key",),
    creates="thread_id",
)
def send_message(call: Call, customer_id: str) -> Reply:
    body: MessageIn = call.body
    key = idempotency_key(call.header("Idempotency-Key"))
    try:
        view = usecases.send_message(
            call.store_id,
            customer_id,
            subject=body.subject,
            body=body.body,
            template_id=body.template_id,
            context=body.context,
            idempotency_key=key,
            marketing=body.marketing,
        )
    except usecases.CannotMail as error:
        raise _cannot_mail(error) from None
    except TemplateError as error:
        raise invalid(
            [FieldError("context", f"{error.part}: {error.detail}")], error.reason
        ) from None
    return Reply(201, ThreadOut.of(view), {"Location": f"/messages/{view['thread_id']}"})


@routes.route(
    "/customers/{customer_id}/messages",
    "GET",
    summary="A customer's conversations",
    description="Latest activity first; follow `next_cursor` for older ones.",
    query=ThreadQuery,
    response=ThreadList,
)
def list_threads(call: Call, customer_id: str) -> Reply:
    query: ThreadQuery = call.query
    # A cursor belongs to one customer's listing (the link key signs it, derived apart).
    scope = f"threads:{customer_id}"
    start = (
        decode_cursor(query.cursor, store_id=call.store_id, scope=scope, key=link_key())
        if query.cursor
        else None
    )
    threads, after = usecases.threads_page(call.store_id, customer_id, query.limit, start)
    cursor = (
        encode_cursor(after, store_id=call.store_id, scope=scope, key=link_key())
        if after and len(threads) == query.limit
        else None
    )
    return Reply(200, ThreadList.of(threads, cursor))


@routes.route(
    "/messages/dropped",
    "GET",
    summary="Replies that were dropped, by reason",
    description=(
        "Counts per day and reason of the replies to this store's mails that were not threaded"
        " (`sender_mismatch`). Forged or missing reply tokens name no store: they are counted"
        " for the platform only."
    ),
    query=DroppedQuery,
    response=DroppedReplies,
)
def dropped_replies(call: Call) -> Reply:
    query: DroppedQuery = call.query
    days = usecases.dropped_of_store(call.store_id, query.days)
    totals: dict[str, int] = {}
    for counts in days.values():
        for reason, count in counts.items():
            totals[reason] = totals.get(reason, 0) + count
    return Reply(
        200,
        DroppedReplies(
            by_reason=totals,
            days=[DroppedDay(day=date.fromisoformat(d), by_reason=days[d]) for d in sorted(days)],
        ),
    )


@routes.route(
    "/messages/{thread_id}",
    "GET",
    summary="A conversation and its messages",
    response=ThreadOut,
)
def get_thread(call: Call, thread_id: str) -> Reply:
    return Reply(200, ThreadOut.of(usecases.thread_view(call.store_id, thread_id)))


@routes.route(
    "/messages/{thread_id}/replies",
    "POST",
    summary="Answer in a conversation",
    description="Sent at once, with In-Reply-To / References naming the thread's mails.",
    body=ReplyIn,
    response=ThreadOut,
    status=201,
    errors=(409,),
)
def reply(call: Call, thread_id: str) -> Reply:
    body: ReplyIn = call.body
    try:
        view = usecases.reply_in_thread(call.store_id, thread_id, body.body)
    except usecases.CannotMail as error:
        raise _cannot_mail(error) from None
    return Reply(201, ThreadOut.of(view))
