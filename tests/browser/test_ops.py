"""Import, reports, exports and the credits wallet in the console, done by clicking as a store
owner would, checked on screen and through the API."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser.conftest import Owner


def _wait_for(owner: Owner, path: str, done: Any, tries: int = 60) -> dict[str, Any]:
    """Reads `path` until `done(body)`; the stack's pollers need a moment between steps."""
    body: dict[str, Any] = {}
    for _ in range(tries):
        owner.stack.wait_idle()
        body = owner.api("GET", path).json()
        if done(body):
            return body
    raise AssertionError(f"{path} never settled: {body}")


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

    expect(page.get_by_role("heading", name=re.compile("Preview ready"))).to_be_visible()
    preview = page.get_by_role("table", name="What the import will do")
    expect(preview.get_by_role("row", name=re.compile(r"New customers\s+1"))).to_be_visible()
    expect(preview.get_by_role("row", name=re.compile(r"Rows refused\s+1"))).to_be_visible()
    issues = page.get_by_role("table", name="1 row to look at")
    expect(issues.get_by_role("row", name=re.compile(r"3\s+E-mail\s+is not a valid e-mail"))).to_be_visible()
    # A preview changes nothing.
    assert owner.api("GET", "/customers", params={"tag": tag}).json()["items"] == []
    assert owner.axe_violations() == []
    owner.screenshot("imports")

    page.get_by_role("button", name="Import these customers").click()
    expect(page.get_by_role("heading", name="Import done")).to_be_visible()
    done = page.get_by_role("table", name="What the import did")
    expect(done.get_by_role("row", name=re.compile(r"New customers\s+1"))).to_be_visible()
    customers = owner.api("GET", "/customers", params={"tag": tag}).json()["items"]
    assert [(c["email"], c["first_name"], c["city"]) for c in customers] == [
        (good, "Lúcia", "Recife")
    ]
