"""Seed 001 and 002's avatar through the running local stack: the store uploads a photo with a
presigned POST, the profile and the list show it, and it goes with the customer."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.images import png


def test_a_photo_is_uploaded_shown_and_deleted_with_the_customer(stack: Any) -> None:
    store = f"e2e-{uuid.uuid4().hex[:12]}"
    base, headers = stack.base_url, stack.headers(store)
    customer = requests.post(
        f"{base}/customers", json={"email": "lucia@example.es"}, headers=headers, timeout=10
    ).json()
    path = f"{base}/customers/{customer['id']}/photo"

    started = requests.post(
        f"{path}/uploads", json={"content_type": "image/png"}, headers=headers, timeout=10
    )
    assert started.status_code == 201, started.text
    grant = started.json()
    image = png(32, 32)
    sent = requests.post(
        grant["url"],
        data=grant["fields"],
        files={"file": ("avatar.png", image, "image/png")},
        timeout=10,
    )
    assert sent.status_code in (200, 201, 204), sent.text
    confirmed = requests.put(
        path, json={"upload_id": grant["upload_id"]}, headers=headers, timeout=10
    )
    assert confirmed.status_code == 200, confirmed.text

    [listed] = requests.get(f"{base}/customers", headers=headers, timeout=10).json()["items"]
    link = listed["photo"]["url"]
    assert requests.get(link, timeout=10).content == image

    deleted = requests.delete(f"{base}/customers/{customer['id']}", headers=headers, timeout=10)
    assert deleted.status_code == 204
    # The object is gone: S3 answers 403 or 404 (depending on the signer's ListBucket right).
    assert requests.get(link, timeout=10).status_code in (403, 404)
