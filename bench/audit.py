"""The server's side of the count: every request moto received, from its request recorder.

The hooks only see clients they were registered on. If some code made a client of its own, its
requests would be missing from the report; comparing with what moto received shows that.
Requests signed with the bench's own access key (its peeks and set-up) are left out.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter

BENCH_ACCESS_KEY = "bench-internal"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")


class ServerLog:
    def __init__(self, endpoint: str) -> None:
        self._base = endpoint.rstrip("/") + "/moto-api/recorder/"

    def _call(self, action: str, method: str = "POST") -> str:
        request = urllib.request.Request(self._base + action, method=method, data=b"")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - local moto
            return str(answer.read().decode())

    def restart(self) -> None:
        """Forget what was recorded and record from now on."""
        self._call("reset-recording")
        self._call("start-recording")

    def requests(self) -> Counter[str]:
        """`service:Operation` -> count, for what the app sent since `restart()`."""
        seen: Counter[str] = Counter()
        for line in self._call("download-recording", "GET").splitlines():
            headers = {k.lower(): v for k, v in json.loads(line)["headers"].items()}
            match = _CREDENTIAL.search(headers.get("authorization", ""))
            if match and match.group(1) == BENCH_ACCESS_KEY:
                continue
            service = match.group(2) if match else "?"
            operation = headers.get("x-amz-target", "?").rsplit(".", 1)[-1]
            seen[f"{service}:{operation}"] += 1
        return seen
