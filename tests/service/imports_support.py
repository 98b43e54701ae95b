"""What the imports service tests share: the import's queues drained in the test's thread, and
plain HTTP to moto's server for presigned links."""

from __future__ import annotations

import urllib.request
from typing import Any

from clientela_local.drain import Drain, import_drain


def pump_for(apps: dict[str, Any], store_id: str) -> Drain:
    return import_drain(apps["exports"], apps["customers"], store_id)


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - moto's server
        body: bytes = response.read()
    return body


def upload(url: str, data: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, headers=headers, method="PUT")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        status: int = response.status
    return status
