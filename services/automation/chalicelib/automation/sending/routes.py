"""The public links of an e-mail: unsubscribe (RFC 8058 one-click POST and a page), the open
pixel and the click redirect. No login: the signed token in the path is the proof, and a token
that does not verify changes nothing (404, or the pixel anyway)."""

from __future__ import annotations

import html

from chalicelib.automation.sending import usecases
from chalicelib.automation.sending.models import (
    ClickQuery,
    LiftQuery,
    SuppressionOut,
    SuppressionPage,
    SuppressionQuery,
)
from chalicelib.automation.settings import link_key
from clientela import problems
from clientela.api import Call, Reply, Routes
from clientela.cursor import decode_cursor, encode_cursor

routes = Routes()
register = routes.register

# RFC 8058: mailbox providers POST this form; a browser posts the page's form (same body).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
# An empty 1x1 image. SVG rather than GIF: text, so API Gateway needs no binary media type
# and no matching Accept header (mail clients send `image/*`, which a binary type never
# matches); what counts is that the client fetched it.
PIXEL = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
PIXEL_TYPE = "image/svg+xml"


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif;max-width:32em;margin:4em auto">{body}</body></html>'
    )


def _link_not_found() -> problems.Problem:
    return problems.Problem(
        404, "not-found", "Not found", "This link is not valid (or no longer is)."
    )


@routes.route(
    "/unsubscribe/{token}",
    "GET",
    summary="The unsubscribe page of an e-mail",
    description=(
        "Public (the signed token is the proof). Shows a button that unsubscribes; visiting"
        " the page changes nothing, so link scanners cannot unsubscribe anyone."
    ),
    auth=False,
)
def unsubscribe_page(_call: Call, token: str) -> Reply:
    if usecases.unsubscribe_target(token) is None:
        raise _link_not_found()
    form = (
        "<h1>Unsubscribe</h1><p>Stop receiving marketing e-mail from this shop?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return Reply(200, _page("Unsubscribe", form), dict(_HTML))


@routes.route(
    "/unsubscribe/{token}",
    "POST",
    summary="Unsubscribe (RFC 8058 one-click)",
    description=(
        "Public. Mailbox providers POST `List-Unsubscribe=One-Click` here; so does the page's"
        " button. Publishes `email.unsubscribed`; the customers service sets the e-mail consent"
        " to `unsubscribed` (source `unsubscribe_link`). Repeating it changes nothing more."
    ),
    auth=False,
    content_types=FORM_TYPES,
)
def unsubscribe(_call: Call, token: str) -> Reply:
    if not usecases.unsubscribe(token):
        raise _link_not_found()
    done = "<h1>You are unsubscribed</h1><p>You will not receive marketing e-mail from us.</p>"
    return Reply(200, _page("Unsubscribed", done), dict(_HTML))


@routes.route(
    "/track/open/{token}",
    "GET",
    summary="The open pixel of an e-mail",
    description="Public. Publishes `email.opened`; answers a 1x1 image whatever the token.",
    auth=False,
)
def open_pixel(_call: Call, token: str) -> Reply:
    usecases.opened(token)
    return Reply(200, PIXEL, {"Content-Type": PIXEL_TYPE, "Cache-Control": "no-store"})


@routes.route(
    "/track/click/{token}",
    "GET",
    summary="The click redirect of an e-mail's link",
    description=(
        "Public. Redirects (302) to the link the e-mail carried and publishes `email.clicked`;"
        " a link the token was not signed for is refused (404): no open redirect."
    ),
    query=ClickQuery,
    status=302,
    auth=False,
)
def click(call: Call, token: str) -> Reply:
    url = call.query.u
    if not usecases.clicked(token, url):
        raise _link_not_found()
    return Reply(302, None, {"Location": url, "Cache-Control": "no-store"})


@routes.route(
    "/suppressions",
    "GET",
    summary="The store's suppressed addresses (hard bounces, complaints)",
    description=(
        "Mail to these addresses is not sent. Each shows a masked address and an `id` (a hash of"
        " the address). Paginated: follow `next_cursor` until it is null."
    ),
    query=SuppressionQuery,
    response=SuppressionPage,
)
def list_suppressions(call: Call) -> Reply:
    query: SuppressionQuery = call.query
    # The link key signs cursors too (derived apart: a cursor is never a valid link token).
    position = (
        decode_cursor(query.cursor, store_id=call.store_id, scope="suppressions", key=link_key())
        if query.cursor
        else None
    )
    found, after = usecases.suppressions_page(call.store_id, query.limit, position)
    cursor = (
        encode_cursor(after, store_id=call.store_id, scope="suppressions", key=link_key())
        if after
        else None
    )
    return Reply(
        200, SuppressionPage(items=[SuppressionOut.of(s) for s in found], next_cursor=cursor)
    )


@routes.route(
    "/suppressions/{address}",
    "DELETE",
    summary="Lift a suppression",
    description=(
        "By the address or the listed `id`. `reason` (recorded with the lift) is required. 204;"
        " 404 when the address is not suppressed. A later bounce or complaint suppresses it again."
    ),
    query=LiftQuery,
    status=204,
)
def lift_suppression(call: Call, address: str) -> Reply:
    query: LiftQuery = call.query
    if len(address) > 320 or not usecases.lift_suppression(call.store_id, address, query.reason):
        raise problems.Problem(404, "not-found", "Not found", "This address is not suppressed.")
    return Reply(204, None)
