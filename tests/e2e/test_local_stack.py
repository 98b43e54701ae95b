"""The local stack as a whole: one front door, every service, events flowing between them."""

from __future__ import annotations

import requests

from clientela_local.seed import demo_customers, seed

PROBLEM = "https://clientela.dev/problems/"


def test_health_lists_every_service(stack):
    response = requests.get(f"{stack.base_url}/health", timeout=10)
    assert response.status_code == 200
    assert set(response.json()["services"]) == {"customers", "automation", "credits", "exports"}


def test_each_service_answers_its_own_paths(stack):
    for service in ("customers", "automation", "credits", "exports"):
        response = requests.get(f"{stack.base_url}/health/{service}", timeout=10)
        assert response.status_code == 200, service
        assert response.json()["service"] == service


def test_gateway_errors_are_problem_documents(stack, store_id):
    no_token = requests.get(f"{stack.base_url}/customers", timeout=10)
    assert no_token.status_code == 401
    assert no_token.headers["Content-Type"] == "application/problem+json"
    assert no_token.json()["type"] == PROBLEM + "unauthorized"

    read_only = stack.headers(store_id, scopes=["customers:read"])
    forbidden = requests.post(
        f"{stack.base_url}/customers",
        json={"email": "a@example.com"},
        headers=read_only,
        timeout=10,
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["type"] == PROBLEM + "forbidden"

    missing = requests.get(
        f"{stack.base_url}/nothing/here", headers=stack.headers(store_id), timeout=10
    )
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["status"] == missing.status_code


def test_a_new_customer_gets_a_wallet_through_the_event_chain(stack, store_id):
    """customers API -> table -> stream poller -> EventBridge -> SQS -> credits poller."""
    headers = stack.headers(store_id)
    created = requests.post(
        f"{stack.base_url}/customers",
        json={"email": "conceicao@example.com", "first_name": "Conceição", "country": "PT"},
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    stack.wait_idle()
    wallet = requests.get(
        f"{stack.base_url}/wallets/{created.json()['id']}", headers=headers, timeout=10
    )
    assert wallet.status_code == 200, wallet.text


def test_demo_customers_are_created_through_the_api(stack, store_id):
    customers = demo_customers(6)
    assert seed(stack.base_url, stack.token(store_id), customers, store=store_id) == 6
    listed = requests.get(
        f"{stack.base_url}/customers",
        params={"limit": 50},
        headers=stack.headers(store_id),
        timeout=10,
    )
    assert listed.status_code == 200
    names = {(c["first_name"], c["last_name"]) for c in listed.json()["items"]}
    assert names == {(c["first_name"], c["last_name"]) for c in customers}


def test_docs_page_and_merged_document(stack):
    docs = requests.get(f"{stack.base_url}/docs", timeout=10)
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text
    document = requests.get(f"{stack.base_url}/openapi.json", timeout=30)
    assert document.status_code == 200
    assert "/customers" in document.json()["paths"]
