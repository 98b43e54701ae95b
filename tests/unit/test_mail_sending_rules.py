"""Sending rules with no AWS: message ids, signed opaque links, tracked HTML, the MIME
message, SES notifications."""

from __future__ import annotations

import email
import email.policy
import html
import json
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.automation.sending import rules
from chalicelib.automation.sending.rules import Links, Mail

KEY = "unit-test-link-key"


def links(store: str = "store-a", customer: str = "C1") -> Links:
    return Links("https://mail.example", rules.message_id(store, "k1"), store, customer, KEY)


def test_a_message_id_is_the_same_for_the_same_key_and_differs_per_store() -> None:
    assert rules.message_id("s1", "k") == rules.message_id("s1", "k")
    assert rules.message_id("s1", "k") != rules.message_id("s2", "k")
    assert re.fullmatch(r"[0-9a-f]{26}", rules.message_id("s1", "k"))


def test_a_token_holds_nothing_readable_and_verifies_only_for_its_purpose_and_owner() -> None:
    link = links()
    token = link.unsubscribe.rsplit("/", 1)[1]

    assert "store-a" not in token and "c1" not in token.lower()
    assert rules.token_valid("unsubscribe", token, "store-a", "C1", key=KEY)
    assert not rules.token_valid("open", token, "store-a", "C1", key=KEY)
    assert not rules.token_valid("unsubscribe", token, "store-b", "C1", key=KEY)
    assert not rules.token_valid("unsubscribe", token, "store-a", "C2", key=KEY)
    assert not rules.token_valid("unsubscribe", token, "store-a", "C1", key="other-key")


@given(
    st.integers(rules.MESSAGE_ID_CHARS, rules.TOKEN_CHARS - 1), st.sampled_from("0123456789abcdef")
)
def test_any_edited_signature_character_breaks_the_token(position: int, char: str) -> None:
    token = links().unsubscribe.rsplit("/", 1)[1]
    edited = token[:position] + char + token[position + 1 :]

    valid = rules.token_valid("unsubscribe", edited, "store-a", "C1", key=KEY)

    assert valid is (edited == token)


def test_a_click_link_is_signed_for_its_url_only() -> None:
    link = links()
    tracked = urlsplit(link.click("https://shop.example/p?a=1&b=2"))
    token = tracked.path.rsplit("/", 1)[1]
    [url] = parse_qs(tracked.query)["u"]

    assert url == "https://shop.example/p?a=1&b=2"
    assert rules.token_valid("click", token, "store-a", "C1", url, key=KEY)
    assert not rules.token_valid("click", token, "store-a", "C1", "https://evil.example", key=KEY)


def test_tracked_html_rewrites_links_but_the_unsubscribe_one_and_adds_a_pixel() -> None:
    link = links()
    markup = (
        '<html><body><a href="https://shop.example/?a=1&amp;b=2">Shop</a>'
        f'<a href="{html.escape(link.unsubscribe)}">Unsubscribe</a>'
        '<a href="mailto:x@y.example">Mail</a></body></html>'
    )

    tracked = rules.tracked_html(markup, link)

    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', tracked)]
    assert hrefs[0] == link.click("https://shop.example/?a=1&b=2")
    assert hrefs[1:] == [link.unsubscribe, "mailto:x@y.example"]
    assert tracked.endswith(
        f'<img src="{html.escape(link.pixel)}" width="1" height="1" alt="" /></body></html>'
    )


def test_the_mime_message_carries_both_parts_and_the_one_click_headers() -> None:
    raw = rules.mime(
        Mail(
            sender="Loja <mail@mail.example>",
            to="ana@example.com",
            subject="Olá, Ana — 50% off",
            text="Texto",
            html="<p>HTML</p>",
            unsubscribe_url="https://mail.example/unsubscribe/abc",
            reply_to="reply+t@reply.example",
            in_reply_to="<a@b>",
            references=("<a@b>",),
        )
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)

    assert message["Subject"] == "Olá, Ana — 50% off"
    assert message["List-Unsubscribe"] == "<https://mail.example/unsubscribe/abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (message["Reply-To"], message["In-Reply-To"]) == ("reply+t@reply.example", "<a@b>")
    plain, markup = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert markup is not None
    assert plain.get_content().strip() == "Texto"
    assert markup.get_content().strip() == "<p>HTML</p>"


def sns(message: Mapping[str, object]) -> str:
    return json.dumps({"Type": "Notification", "Message": json.dumps(message)})


def test_ses_notifications_hard_bounces_and_complaints_only() -> None:
    mail = {"messageId": "ses-1"}
    hard = {
        "notificationType": "Bounce",
        "mail": mail,
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "a@x.io"}]},
    }
    soft = {**hard, "bounce": {"bounceType": "Transient", "bouncedRecipients": []}}
    complaint = {
        "notificationType": "Complaint",
        "mail": mail,
        "complaint": {"complainedRecipients": [{"emailAddress": "b@x.io"}]},
    }

    assert rules.ses_feedback(sns(hard)) == rules.Feedback("bounce", "ses-1", ("a@x.io",))
    assert rules.ses_feedback(json.dumps(complaint)) == rules.Feedback(
        "complaint", "ses-1", ("b@x.io",)
    )
    assert rules.ses_feedback(sns(soft)) is None
    assert rules.ses_feedback(sns({"notificationType": "Delivery", "mail": mail})) is None
