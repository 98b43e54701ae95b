"""Import, reports, exports and the credits wallet in the console, done by clicking as a store
owner would, checked on screen and through the API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import Owner

# Steps that wait on the stack's queues and pollers (an import's preview and commit, an export's
# parts and assembly): a loaded machine takes longer than for what is only drawn.
POLLED_MS = 60_000
SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # the browser's zone (tests/browser/conftest.py)


def test_import_a_csv_through_its_preview(owner: Owner, tmp_path: Path) -> None:
    tag = f"fair-{uuid.uuid4().hex[:6]}"
    good = f"lucia.{uuid.uuid4().hex[:8]}@example.com"
    csv_file = tmp_path / "clientes.csv"
    csv_file.write_text(
        f"Email;Nome;Cidade;País\n{good};Lúcia;Recife;BR\nnot-an-address;Rui;Porto;PT\n",
        encoding="utf-8",
    )
    page = owner.open("/imports")
    expect(page.get_by_role("heading", name="Import customers")).to_be_visible()

    page.get_by_label("CSV file").set_input_files(csv_file)
    page.get_by_label("Tags for everyone imported").fill(tag)
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name=re.compile("Preview ready"))).to_be_visible(
        timeout=POLLED_MS
    )
    preview = page.get_by_role("table", name="What the import will do")
    expect(preview.get_by_role("row", name=re.compile(r"New customers\s+1"))).to_be_visible()
    expect(preview.get_by_role("row", name=re.compile(r"Rows refused\s+1"))).to_be_visible()
    issues = page.get_by_role("table", name="1 row to look at")
    expect(
        issues.get_by_role("row", name=re.compile(r"3\s+E-mail\s+is not a valid e-mail"))
    ).to_be_visible()
    # A preview changes nothing.
    assert owner.api("GET", "/customers", params={"tag": tag}).json()["items"] == []
    assert owner.axe_violations() == []
    owner.screenshot("imports")

    page.get_by_role("button", name="Import these customers").click()
    expect(page.get_by_role("heading", name="Import done")).to_be_visible(timeout=POLLED_MS)
    done = page.get_by_role("table", name="What the import did")
    expect(done.get_by_role("row", name=re.compile(r"New customers\s+1"))).to_be_visible()
    customers = owner.api("GET", "/customers", params={"tag": tag}).json()["items"]
    assert [(c["email"], c["first_name"], c["city"]) for c in customers] == [
        (good, "Lúcia", "Recife")
    ]


def _order(order_id: str, email: str, total: str, placed: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "email": email,
        "placed_at": placed,
        "currency": "EUR",
        "total": total,
        "items": [
            {
                "product_id": "p-1",
                "sku": "SKU-1",
                "name": "Cafetera italiana",
                "brand": "Bialetti",
                "category": "Cocina",
                "quantity": 1,
                "unit_price": total,
            }
        ],
    }


def test_a_report_needs_its_period_then_shows_sortable_rows(owner: Owner) -> None:
    placed = owner.stack.clock_now() - timedelta(days=3)
    day = placed.date().isoformat()
    orders = [
        _order("R-1", "lucia@example.es", "40.00", placed.isoformat()),
        _order("R-2", "lucia@example.es", "60.00", placed.isoformat()),
        _order("R-3", "marco@example.it", "250.00", placed.isoformat()),
    ]
    assert owner.api("POST", "/orders", json={"orders": orders}).status_code == 200
    owner.stack.wait_idle()
    page = owner.open("/reports")
    expect(page.get_by_role("heading", name="Customer reports")).to_be_visible()
    page.get_by_label("Report", exact=True).select_option(label="Customers by purchase frequency")

    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_role("alert")).to_contain_text("Some fields need your attention")
    expect(page.get_by_role("textbox", name="From", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.get_by_role("textbox", name="From", exact=True)).to_have_accessible_description(
        re.compile("The period is required")
    )
    expect(page.get_by_role("textbox", name="To", exact=True)).to_have_accessible_description(
        re.compile("The period is required")
    )

    # In the owner's language: the same refusal in Spanish.
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Generar informe").click()
    expect(page.get_by_role("textbox", name="Desde", exact=True)).to_have_accessible_description(
        re.compile("El periodo es obligatorio")
    )
    page.get_by_label("Idioma").select_option("en")

    page.get_by_role("textbox", name="From", exact=True).fill(day)
    page.get_by_role("textbox", name="To", exact=True).fill(day)
    page.get_by_role("button", name="Show report").click()
    grid = page.get_by_role("table", name="Customers by purchase frequency")
    expect(grid.get_by_role("row")).to_have_count(3)
    expect(grid.get_by_role("row").nth(1)).to_contain_text("lucia@example.es")
    expect(grid.get_by_role("row").nth(1)).to_contain_text("€100.00")

    grid.get_by_role("button", name="Amount").click()  # ascending, then descending
    expect(grid.get_by_role("columnheader", name="Amount")).to_have_attribute(
        "aria-sort", "ascending"
    )
    grid.get_by_role("button", name="Amount").click()
    expect(grid.get_by_role("columnheader", name="Amount")).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(grid.get_by_role("row").nth(1)).to_contain_text("marco@example.it")
    assert owner.axe_violations() == []
    owner.screenshot("reports")

    # Exported through the exports API, with the same period.
    page.get_by_role("button", name="Export this report").click()
    page.get_by_role("link", name="Follow it in Exports").click()
    expect(page.get_by_role("heading", name="Exports", exact=True)).to_be_visible()
    jobs = owner.api("GET", "/exports").json()["items"]
    assert [(j["kind"], j["report"]) for j in jobs] == [
        (
            "report",
            {"name": "purchase-frequency", "query": {"from": day, "to": day}},
        )
    ]


def _grant(owner: Owner, customer: str, amount: str, expires_at: str | None) -> None:
    credit = {"kind": "bonus", "amount": amount, "currency": "BRL", "expires_at": expires_at}
    response = owner.api(
        "POST",
        f"/wallets/{customer}/credits",
        json={k: v for k, v in credit.items() if v is not None},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text


def test_filter_wallets_expiring_this_month(owner: Owner) -> None:
    soon = owner.create_customer(first_name="Bia", email="bia@example.com.br")["id"]
    later = owner.create_customer(first_name="Caio", email="caio@example.com.br")["id"]
    never = owner.create_customer(first_name="Duda", email="duda@example.com.br")["id"]
    owner.stack.wait_idle()  # the wallets open on customer.created
    now = owner.stack.clock_now()
    # "This month" is the browser's (real time, São Paulo's zone, as new_context sets); a grant
    # must expire after the stack's now: half-way to the month's end, at most an hour ahead.
    local = datetime.now(SAO_PAULO)
    month_end = (local.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    assert month_end > now, "the stack's clock has moved past this month"
    _grant(owner, soon, "15.00", (now + min(timedelta(hours=1), (month_end - now) / 2)).isoformat())
    _grant(owner, later, "30.00", (now + timedelta(days=70)).isoformat())
    _grant(owner, never, "5.00", None)

    page = owner.open("/credits")
    expect(page.get_by_role("heading", name="Credits wallet")).to_be_visible()
    wallets = page.get_by_role("table", name="Wallets: All wallets")
    expect(wallets.get_by_role("row")).to_have_count(4)
    expect(page.locator("#wallet-totals")).to_contain_text("R$50.00")

    page.get_by_label("Show").select_option(label="Expiring this month")
    wallets = page.get_by_role("table", name="Wallets: Expiring this month")
    expect(wallets.get_by_role("row")).to_have_count(2)
    expect(wallets.get_by_role("link", name=soon)).to_be_visible()
    # No counter totals an arbitrary expiry range: said so, not shown as zero.
    expect(page.locator("#wallet-totals")).to_contain_text("not available for this filter")
    assert owner.axe_violations() == []
    owner.screenshot("credits")


def test_approve_a_flagged_referral(owner: Owner) -> None:
    programme = {
        "referrer_reward": "20.00",
        "friend_reward": "10.00",
        "currency": "BRL",
        "hold_window_days": 14,
        "share_base_url": "https://loja.example.com.br/indique",
    }
    assert owner.api("PUT", "/referrals/programme", json=programme).status_code in (200, 201)
    maria = owner.create_customer(first_name="Maria", email="maria.souza@example.com")["id"]
    bruno = owner.create_customer(first_name="Bruno", email="bruno.lima@example.org")["id"]
    owner.stack.wait_idle()
    enrolled = owner.api("POST", "/referrers", json={"customer_id": maria, "ip": "203.0.113.7"})
    code = enrolled.json()["code"]
    signed = owner.api(
        "POST", "/referrals", json={"code": code, "customer_id": bruno, "ip": "203.0.113.7"}
    ).json()
    assert signed["status"] == "flagged", signed

    page = owner.open("/credits")
    flagged = page.get_by_role("table", name="Referrals: Flagged for review")
    row = flagged.get_by_role("row", name=re.compile("Same connection"))
    expect(row).to_contain_text("Maria")  # the people, to judge the look-alike
    expect(row).to_contain_text("bruno.lima@example.org")
    flagged.get_by_role("button", name=f"Approve the referral with code {code}").click()

    expect(page.get_by_text("No referral in this status.")).to_be_visible()
    assert owner.api("GET", f"/referrals/{signed['id']}").json()["status"] == "pending"
    page.get_by_label("Referrals in status").select_option(label="Waiting for the first order")
    pending = page.get_by_role("table", name="Referrals: Waiting for the first order")
    expect(pending.get_by_role("row", name=re.compile("Approved by the store"))).to_be_visible()


def test_start_an_export_and_download_it(owner: Owner) -> None:
    owner.create_customer(first_name="Elena", email="elena@example.it")
    owner.create_customer(first_name="Fabio", email="fabio@example.it")
    page = owner.open("/exports")
    expect(page.get_by_role("heading", name="Exports", exact=True)).to_be_visible()
    expect(page.get_by_text("No exports yet.")).to_be_visible()

    page.get_by_label("What to export").select_option(label="E-mail addresses only")
    page.get_by_label("File format").select_option(label="CSV")
    page.get_by_role("button", name="Start export").click()
    jobs = page.get_by_role("table", name="Exports, newest first")
    expect(jobs.get_by_role("row")).to_have_count(2)
    link = jobs.get_by_role("link", name=re.compile(r"Download emails-.*\.csv"))
    expect(link).to_be_visible(timeout=POLLED_MS)
    expect(jobs.get_by_role("row").nth(1)).to_contain_text("Ready")
    assert owner.axe_violations() == []
    owner.screenshot("exports")

    with page.expect_download() as download:
        link.click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert sorted(text.split()) == ["E-mail", "elena@example.it", "fabio@example.it"]
    job = owner.api("GET", "/exports").json()["items"][0]
    assert (job["kind"], job["status"], job["rows"]) == ("emails", "done", 2)
