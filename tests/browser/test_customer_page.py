"""The customer's page (seeds 001, 002, 003), clicked through as a store owner: the 360° profile
with its sections, an edit that meets someone else's change, a message and the customer's
reply threaded under it, consent changed with its history, a customer deleted.

Each story checks what the owner sees and, where a screen could pretend, the API's state after.
"""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from email.message import EmailMessage
from typing import Any

import boto3
import requests
from playwright.sync_api import expect

from tests.browser.conftest import EXPECT_TIMEOUT_MS, Owner, new_context

INBOUND_BUCKET = "clientela-automation-inbound-123456789012-us-east-1"


def _email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def _customer(owner: Owner, **fields: Any) -> dict[str, Any]:
    """A customer the other services know too (credits' wallet, automation's contact)."""
    customer = owner.create_customer(**fields)
    owner.stack.wait_idle()  # customer.created has reached every service following it
    return customer


def test_the_360_page_shows_every_section(owner: Owner) -> None:
    customer = _customer(
        owner,
        first_name="Lucía",
        last_name="Fernández Ruiz",
        email=_email("lucia"),
        phone="+34612345678",
        city="Sevilla",
        country="ES",
        gender="female",
        birthday="1990-04-12",
        tags=["vip", "newsletter"],
        social={"facebook": "Lucía Fernández"},
        email_consent={"state": "subscribed"},
    )
    cid = customer["id"]
    placed = owner.stack.clock_now().isoformat()
    order = {
        "order_id": f"o-{uuid.uuid4().hex[:8]}",
        "customer_id": cid,
        "email": customer["email"],
        "placed_at": placed,
        "currency": "EUR",
        "total": "59.90",
        "items": [
            {
                "product_id": "p1",
                "sku": "S1",
                "name": "Vestido",
                "quantity": 1,
                "unit_price": "59.90",
            }
        ],
    }
    assert owner.api("POST", "/orders", json={"orders": [order]}).status_code < 300
    grant = {"kind": "bonus", "amount": "15.00", "currency": "EUR", "note": "Bienvenida"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    granted = owner.api("POST", f"/wallets/{cid}/credits", json=grant, headers=key)
    assert granted.status_code == 201, granted.text
    owner.stack.wait_idle()

    page = owner.open(f"/customers/{cid}")

    expect(page.get_by_role("heading", name="Lucía Fernández Ruiz", level=1)).to_be_visible()
    for section in ["Contact", "Location", "Engagement", "Social", "System data", "Tags"]:
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(page.get_by_text("Sevilla")).to_be_visible()
    expect(page.get_by_text("Lucía Fernández", exact=True)).to_be_visible()
    expect(
        page.get_by_role("list", name="Segments").get_by_text("E-mail subscribers")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Remove tag vip")).to_be_visible()
    orders = page.get_by_role("table", name="Orders")
    expect(orders.get_by_role("cell", name=order["order_id"])).to_be_visible()
    expect(orders.get_by_role("cell", name=re.compile(r"59,90|59\.90"))).to_be_visible()
    lots = page.get_by_role("table", name="Credit lots")
    expect(lots.get_by_role("cell", name="Bienvenida")).to_be_visible()
    expect(page.get_by_role("list", name="Timeline").locator("li").first).to_be_visible()
    expect(page.locator("#customer-coupons").get_by_text("No coupons")).to_be_visible()
    owner.screenshot("customer")
    assert owner.axe_violations() == []

    # Tags are added and removed on the page, and the API has them.
    page.get_by_label("New tag").fill("gold")
    page.get_by_role("button", name="Add tag").click()
    expect(page.get_by_role("button", name="Remove tag gold")).to_be_visible()
    page.get_by_role("button", name="Remove tag vip").click()
    expect(page.get_by_role("button", name="Remove tag vip")).to_have_count(0)
    assert owner.api("GET", f"/customers/{cid}").json()["tags"] == ["gold", "newsletter"]


def test_an_edit_that_meets_another_change_shows_a_conflict_and_overwrites_nothing(
    owner: Owner,
) -> None:
    """In Portuguese: the conflict is explained in the owner's language."""
    customer = owner.create_customer(
        first_name="Giulia", last_name="Bianchi", email=_email("giulia")
    )
    context = new_context(owner.page.context.browser, locale="pt-BR")  # type: ignore[arg-type]
    owner.page = context.new_page()
    try:
        page = owner.open(f"/customers/{customer['id']}")
        expect(page.get_by_role("heading", name="Giulia Bianchi", level=1)).to_be_visible()
        page.get_by_role("button", name="Editar", exact=True).click()
        page.get_by_label("Cidade", exact=True).fill("Milano")

        # Someone else changes the customer after the page loaded it.
        other = owner.api(
            "PATCH",
            f"/customers/{customer['id']}",
            json={"city": "Roma"},
            headers={"If-Match": '"1"'},
        )
        assert other.status_code == 200, other.text
        page.get_by_role("button", name="Salvar").click()

        conflict = page.get_by_role("alert")
        expect(conflict).to_contain_text("Isto mudou desde que você abriu")
        expect(conflict).to_contain_text("nada foi sobrescrito")
        assert owner.api("GET", f"/customers/{customer['id']}").json()["city"] == "Roma"
        assert owner.axe_violations() == []

        page.get_by_role("button", name="Recarregar o cliente").click()
        expect(page.get_by_text("Roma", exact=True)).to_be_visible()
        page.get_by_role("button", name="Editar", exact=True).click()
        page.get_by_label("Cidade", exact=True).fill("Milano")
        page.get_by_role("button", name="Salvar").click()
        expect(page.get_by_text("Milano", exact=True)).to_be_visible()
        assert owner.api("GET", f"/customers/{customer['id']}").json()["city"] == "Milano"
    finally:
        context.close()


def _mail_to(aws: str, address: str) -> EmailMessage:
    data = requests.get(f"{aws}/moto-api/data.json", timeout=30).json()
    for message in reversed(data["ses"]["RawMessage"]):
        if address in message.get("destinations", []) and message.get("raw_data"):
            parsed = email.message_from_string(message["raw_data"], policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            return parsed
    raise AssertionError(f"no mail to {address}")


def test_a_message_sent_from_the_page_gets_the_customer_reply_threaded_under_it(
    owner: Owner,
) -> None:
    customer = _customer(owner, first_name="Beatriz", email=_email("bia"))
    page = owner.open(f"/customers/{customer['id']}")
    compose = page.get_by_role("form", name="Send a message")
    compose.get_by_label("Subject").fill("Sua troca")
    compose.get_by_role("button", name="Send").click()  # no text yet: named, nothing sent
    expect(compose.get_by_label("Message")).to_have_attribute("aria-invalid", "true")
    expect(compose.get_by_text("Required.")).to_be_visible()
    assert owner.api("GET", f"/customers/{customer['id']}/messages").json()["items"] == []

    compose.get_by_label("Message").fill("Olá Beatriz, a troca foi aprovada.")
    compose.get_by_role("button", name="Send").click()
    thread = page.get_by_role("article", name="Sua troca")
    # Sent through SES at once: slower than a page's own answers on a loaded machine.
    sent_text = thread.get_by_text("Olá Beatriz, a troca foi aprovada.")
    expect(sent_text).to_be_visible(timeout=EXPECT_TIMEOUT_MS)

    # The customer answers by mail: SES stores the raw reply in the inbound bucket.
    aws = requests.get(f"{owner.stack.base_url}/_local/aws", timeout=10).json()["endpoint_url"]
    sent = _mail_to(aws, customer["email"])
    reply = EmailMessage()
    reply["From"] = customer["email"]
    reply["To"] = sent["Reply-To"]
    reply["Subject"] = "Re: Sua troca"
    reply["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
    reply.set_content("Obrigada, chegou tudo!\n\nEm seg., Loja escreveu:\n> Olá Beatriz\n")
    s3 = boto3.client(
        "s3",
        endpoint_url=aws,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.put_object(Bucket=INBOUND_BUCKET, Key=f"replies/{uuid.uuid4().hex}", Body=reply.as_bytes())
    owner.stack.wait_idle()

    thread.get_by_role("button", name="Check for replies").click()
    answer = thread.locator("li[data-direction=inbound]")
    expect(answer).to_contain_text("Obrigada, chegou tudo!")
    expect(answer).not_to_contain_text("Em seg.")
    owner.screenshot("customer-messages")
    assert owner.axe_violations() == []

    thread.get_by_label("Reply to “Sua troca”").fill("Que bom!")
    thread.get_by_role("button", name="Send reply").click()
    expect(thread.locator("li[data-direction=outbound]").last).to_contain_text("Que bom!")
    [summary] = owner.api("GET", f"/customers/{customer['id']}/messages").json()["items"]
    thread_api = owner.api("GET", f"/messages/{summary['id']}").json()
    assert [m["direction"] for m in thread_api["messages"]] == ["outbound", "inbound", "outbound"]


def test_changing_email_consent_shows_it_in_the_history(owner: Owner) -> None:
    customer = _customer(
        owner, first_name="Marta", email=_email("marta"), email_consent={"state": "subscribed"}
    )
    page = owner.open(f"/customers/{customer['id']}")
    email_form = page.get_by_role("form", name="E-mail", exact=True)
    expect(email_form.locator(".badge")).to_have_text("Subscribed")

    email_form.get_by_label("Change to").select_option("unsubscribed")
    email_form.get_by_role("button", name="Change consent").click()

    expect(email_form.locator(".badge")).to_have_text("Unsubscribed")
    history = page.get_by_role("table", name="Consent history")
    latest = history.get_by_role("row").nth(1)
    expect(latest).to_contain_text("Unsubscribed", timeout=EXPECT_TIMEOUT_MS)
    expect(latest).to_contain_text("by the store")
    expect(history.get_by_role("row")).to_have_count(3)  # header, subscribed, unsubscribed
    consent = owner.api("GET", f"/customers/{customer['id']}").json()["email_consent"]
    assert (consent["state"], consent["source"]) == ("unsubscribed", "admin")


def test_deleting_a_customer_asks_first_and_removes_them(owner: Owner) -> None:
    customer = owner.create_customer(first_name="Paulo", last_name="Souza", email=_email("paulo"))
    page = owner.open(f"/customers/{customer['id']}")
    expect(page.get_by_role("heading", name="Paulo Souza", level=1)).to_be_visible()

    page.get_by_role("button", name="Delete customer").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Paulo Souza")
    dialog.get_by_role("button", name="Cancel").click()
    assert owner.api("GET", f"/customers/{customer['id']}").status_code == 200

    page.get_by_role("button", name="Delete customer").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete customer").click()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    assert owner.api("GET", f"/customers/{customer['id']}").status_code == 404


def test_exporting_then_erasing_a_customer_shows_each_request_to_its_end(owner: Owner) -> None:
    customer = _customer(owner, first_name="Chiara", email=_email("chiara"))
    page = owner.open(f"/customers/{customer['id']}")
    privacy = page.locator("#customer-privacy")
    privacy.get_by_label("File format").select_option("html")
    privacy.get_by_role("button", name="Export customer data").click()

    # A privacy request waits for every service to confirm: slower than a page's own answers.
    expect(privacy.get_by_text("Data export: completed")).to_be_visible(timeout=EXPECT_TIMEOUT_MS)
    link = privacy.get_by_role("link", name=re.compile(r"Download personal-data-.*\.html"))
    assert requests.get(link.get_attribute("href") or "", timeout=30).status_code == 200

    privacy.get_by_role("button", name="Erase customer data").click()
    page.get_by_role("dialog").get_by_role("button", name="Erase customer data").click()
    expect(privacy.get_by_text("Erasure: completed")).to_be_visible(timeout=EXPECT_TIMEOUT_MS)
    kinds = {r["kind"]: r["status"] for r in owner.api("GET", "/privacy/requests").json()["items"]}
    assert kinds == {"access": "completed", "erasure": "completed"}
    assert owner.api("GET", f"/customers/{customer['id']}").status_code == 404
