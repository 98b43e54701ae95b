"""Seed 001's newsletter-list sync through the running local stack: a Mailchimp audience export
(its zip of subscribed / unsubscribed / cleaned files) is uploaded, previewed ("how many new
accounts"), committed, and imported again: the second time nothing changes."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import requests

SAMPLES = Path(__file__).resolve().parents[2] / "services" / "exports" / "samples" / "mailchimp"


def audience_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(SAMPLES.glob("*.csv")):
            z.write(path, path.name)
    return archive.getvalue()


def run_import(stack: Any, base: str, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    grant = requests.post(
        f"{base}/imports/uploads",
        json={"size": len(data), "content_type": "application/zip"},
        headers=headers,
        timeout=10,
    )
    assert grant.status_code == 201, grant.text
    put = requests.put(grant.json()["url"], data=data, headers=grant.json()["headers"], timeout=10)
    assert put.status_code == 200, put.text
    started = requests.post(
        f"{base}/imports",
        json={"upload_id": grant.json()["upload_id"], "filename": "audience.zip", "tags": ["mc"]},
        headers=headers,
        timeout=10,
    )
    assert started.status_code == 202, started.text
    stack.wait_idle(timeout=60)
    job = requests.get(f"{base}/imports/{started.json()['id']}", headers=headers, timeout=10)
    assert job.status_code == 200
    assert job.json()["status"] == "previewed", job.text
    return job.json()  # type: ignore[no-any-return]


def commit(stack: Any, base: str, headers: dict[str, str], job: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{base}/imports/{job['id']}/commit", headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    stack.wait_idle(timeout=60)
    done = requests.get(f"{base}/imports/{job['id']}", headers=headers, timeout=10).json()
    assert done["status"] == "committed", done
    return done  # type: ignore[no-any-return]


def customer(base: str, headers: dict[str, str], email: str) -> dict[str, Any]:
    found = requests.get(f"{base}/customers", params={"q": email}, headers=headers, timeout=10)
    [match] = [c for c in found.json()["items"] if c["email"] == email]
    return match  # type: ignore[no-any-return]


def test_a_mailchimp_export_is_previewed_committed_and_reimported_without_change(
    stack: Any,
) -> None:
    store = f"e2e-{uuid.uuid4().hex[:12]}"
    base, headers = stack.base_url, stack.headers(store)
    data = audience_zip()

    job = run_import(stack, base, headers, data)
    assert job["source"] == "mailchimp"
    # Seed 001: how many new accounts the sync will import, before it does.
    assert job["preview"] == {"create": 6, "update": 0, "unchanged": 0, "refused": 1, "repeated": 1}
    report = requests.get(job["report"]["url"], timeout=10).content.decode("utf-8-sig")
    assert "subscribed_members_export_4f2a9c.csv" in report  # rows named in their own file
    assert requests.get(f"{base}/customers/count", headers=headers, timeout=10).json()["count"] == 0

    job = commit(stack, base, headers, job)
    assert job["committed"] == job["preview"]
    marina = customer(base, headers, "marina.costa@example.com.br")
    assert marina["email_consent"]["state"] == "subscribed"
    assert marina["email_consent"]["source"] == "import"
    assert marina["email_consent"]["updated_at"].startswith("2026-02-11T09:12:44")
    assert sorted(marina["tags"]) == ["mc", "newsletter", "promo"]
    # In both lists: the unsubscribe wins, whatever the order of the files in the zip.
    carlos = customer(base, headers, "carlos.ruiz@example.es")
    assert carlos["email_consent"]["state"] == "unsubscribed"
    assert customer(base, headers, "old.box@example.com")["email_consent"]["state"] == (
        "unsubscribed"
    )
    versions = {c["id"]: c["version"] for c in (marina, carlos)}

    again = run_import(stack, base, headers, data)
    assert again["preview"] == {
        "create": 0,
        "update": 0,
        "unchanged": 6,
        "refused": 1,
        "repeated": 1,
    }
    again = commit(stack, base, headers, again)
    assert again["committed"]["unchanged"] == 6
    assert requests.get(f"{base}/customers/count", headers=headers, timeout=10).json()["count"] == 6
    for cid, version in versions.items():
        current = requests.get(f"{base}/customers/{cid}", headers=headers, timeout=10).json()
        assert current["version"] == version
