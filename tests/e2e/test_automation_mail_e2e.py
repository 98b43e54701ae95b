"""Mail through the running local stack, over HTTP: a message sent, the customer's reply dropped
into the inbound bucket as SES would store it, threaded; a one-click unsubscribe that changes
the consent in the customers API. Sent mail is read from moto (`/moto-api/data.json`, `ses`)."""

from __future__ import annotations

import email
import email.policy
import uuid
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests

BUCKET = "clientela-automation-inbound-123456789012-us-east-1"


@pytest.fixture
def store_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


class Api:
    def __init__(self, stack: Any, store_id: str) -> None:
        self.stack, self.url, self.headers = stack, stack.base_url, stack.headers(store_id)

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method, f"{self.url}{path}", json=body, headers=self.headers, timeout=30
        )


def aws_endpoint(stack: Any) -> str:
    endpoint: str = requests.get(f"{stack.base_url}/health", timeout=10).json()["aws"]
    return endpoint


def mails_to(stack: Any, address: str) -> list[EmailMessage]:
    data = requests.get(f"{aws_endpoint(stack)}/moto-api/data.json", timeout=30).json()
    found = []
    for message in data["ses"]["RawMessage"]:
        if address in message.get("destinations", []) and message.get("raw_data"):
            parsed = email.message_from_string(message["raw_data"], policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
    return found


def new_customer(api: Api, *, subscribed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"first_name": "Lia", "email": f"lia-{uuid.uuid4().hex[:8]}@example.com"}
    if subscribed:
        body["email_consent"] = {"state": "subscribed"}
    answer = api.call("POST", "/customers", body)
    assert answer.status_code == 201, answer.text
    api.stack.wait_idle()  # customer.created reaches automation's contacts
    created: dict[str, Any] = answer.json()
    return created


def test_a_reply_dropped_into_the_inbound_bucket_is_threaded_under_the_message(
    stack: Any, store_id: str
) -> None:
    api = Api(stack, store_id)
    customer = new_customer(api, subscribed=False)
    sent = api.call(
        "POST",
        f"/customers/{customer['id']}/messages",
        {"subject": "Seu pedido", "body": "Olá Lia, chegou tudo certo?"},
    )
    assert sent.status_code == 201, sent.text
    [mail] = mails_to(stack, customer["email"])

    reply = EmailMessage()
    reply["From"] = customer["email"]
    reply["To"] = mail["Reply-To"]
    reply["Subject"] = "Re: Seu pedido"
    reply["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
    reply.set_content("Chegou sim, obrigada!\n\nEm seg., Loja escreveu:\n> Olá Lia\n")
    s3 = boto3.client(
        "s3",
        endpoint_url=aws_endpoint(stack),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.put_object(Bucket=BUCKET, Key=f"replies/{uuid.uuid4().hex}", Body=reply.as_bytes())
    stack.wait_idle()  # the bucket's notification -> inbound queue -> on_inbound_mail

    thread = api.call("GET", f"/messages/{sent.json()['id']}").json()
    assert [(m["direction"], m["text"]) for m in thread["messages"]] == [
        ("outbound", "Olá Lia, chegou tudo certo?"),
        ("inbound", "Chegou sim, obrigada!"),
    ]
    threads = api.call("GET", f"/customers/{customer['id']}/messages").json()["items"]
    assert [(t["id"], t["last_direction"]) for t in threads] == [(thread["id"], "inbound")]


def test_one_click_unsubscribe_changes_the_consent_in_the_customers_api(
    stack: Any, store_id: str
) -> None:
    api = Api(stack, store_id)
    customer = new_customer(api, subscribed=True)
    sent = api.call(
        "POST",
        f"/customers/{customer['id']}/messages",
        {"subject": "Oferta", "body": "10% hoje", "marketing": True},
    )
    assert sent.status_code == 201, sent.text
    [mail] = mails_to(stack, customer["email"])
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = urlsplit(mail["List-Unsubscribe"].strip("<>")).path

    answer = requests.post(
        f"{stack.base_url}{link}",  # no token: the link is the proof
        data={"List-Unsubscribe": "One-Click"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    stack.wait_idle()  # email.unsubscribed -> customers inbox -> consent

    consent = api.call("GET", f"/customers/{customer['id']}").json()["email_consent"]
    assert (consent["state"], consent["source"]) == ("unsubscribed", "unsubscribe_link")
    again = api.call(
        "POST",
        f"/customers/{customer['id']}/messages",
        {"subject": "Oferta 2", "body": "x", "marketing": True},
    )
    assert (again.status_code, again.json()["reason"]) == (409, "not_subscribed")
