"""Exports through the running local stack: a demo store exported to XLSX, the file downloaded
through its presigned link and opened as a spreadsheet would."""

from __future__ import annotations

import io
import time
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import requests

from clientela_local.seed import demo_customers, seed


def _finished(stack: Any, store_id: str, job_id: str) -> dict[str, Any]:
    """The job once it leaves `running` / `assembling` (the pollers carry the chain)."""
    deadline = time.monotonic() + 60
    while True:
        stack.wait_idle()
        job = requests.get(
            f"{stack.base_url}/exports/{job_id}", headers=stack.headers(store_id), timeout=10
        ).json()
        if job["status"] not in ("running", "assembling") or time.monotonic() > deadline:
            return job  # type: ignore[no-any-return]


def test_the_demo_store_exported_to_xlsx_and_downloaded_through_the_link(stack, store_id):
    customers = demo_customers(12)
    seed(stack.base_url, stack.token(store_id), customers, store=store_id)
    stack.wait_idle()
    headers = stack.headers(store_id)

    asked = requests.post(
        f"{stack.base_url}/exports",
        json={"kind": "customers", "format": "xlsx", "notify": "ana@example.com"},
        headers={**headers, "Accept-Language": "it-IT,it;q=0.9"},
        timeout=10,
    )
    assert asked.status_code == 202, asked.text
    job = _finished(stack, store_id, asked.json()["id"])
    assert job["status"] == "done", job
    listed = requests.get(f"{stack.base_url}/customers/count", headers=headers, timeout=10).json()[
        "count"
    ]
    assert job["rows"] == listed >= 12

    download = requests.get(job["url"], timeout=30)  # the presigned link, no token
    assert download.status_code == 200
    assert len(download.content) == job["size"]
    book = openpyxl.load_workbook(io.BytesIO(download.content))
    assert book.sheetnames == ["Clienti"]
    rows = list(book["Clienti"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Id", "E-mail", "Telefono")
    assert len(rows) == listed + 1
    emails = {row[1] for row in rows[1:]}
    assert {c["email"] for c in customers if "email" in c} <= emails

    # The wallets of the demo store's credits, with their lots and expiry dates.
    asked = requests.post(
        f"{stack.base_url}/exports",
        json={"kind": "wallets", "format": "xlsx", "language": "en"},
        headers=headers,
        timeout=10,
    )
    job = _finished(stack, store_id, asked.json()["id"])
    assert job["status"] == "done", job
    book = openpyxl.load_workbook(io.BytesIO(requests.get(job["url"], timeout=30).content))
    rows = list(book["Wallets"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Customer id", "Currency", "Balance")
    assert len(rows) > 1
    assert any(row[11] is not None for row in rows[1:])  # some lot expires

    # Both are on the record of the store's exports, newest first.
    page = requests.get(f"{stack.base_url}/exports", headers=headers, timeout=10).json()
    assert [j["kind"] for j in page["items"][:2]] == ["wallets", "customers"]
