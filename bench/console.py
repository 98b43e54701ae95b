"""The console's first load: what the demo store's customer list costs a browser to show.

    python -m bench --only console [--console-customers 200] [--repeat 5]

A local stack in this process (moto), a store seeded with `--console-customers` customers
through the API (no order history: the list's first page is what is measured), then Debian's
Chromium (as the browser tests drive it) opens the sign-in link `make run` prints, each time in
a fresh browser context (empty cache), and the clock stops when the first row of the list is
in the page. Bytes are what went over the wire: Content-Length of each response, compressed
when the server compressed it (the local gateway gzips as CloudFront does).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STORE = "bench-console"


def measure(customers: int, repeat: int) -> dict[str, Any]:
    from playwright.sync_api import Response, sync_playwright  # noqa: PLC0415

    from clientela import auth  # noqa: PLC0415
    from clientela_local import seed  # noqa: PLC0415
    from clientela_local.console import console_link  # noqa: PLC0415
    from clientela_local.stack import LocalStack  # noqa: PLC0415

    stack = LocalStack(port=0)
    stack.start()
    try:
        token = auth.issue_token(STORE, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY, 3600)
        started = time.perf_counter()
        seed.seed(
            stack.base_url,
            token,
            seed.demo_customers(customers),
            store=STORE,
            history=False,
            credits=False,
        )
        seeded_s = time.perf_counter() - started
        loads: list[dict[str, Any]] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(repeat):
                context = browser.new_context(locale="pt-BR")
                page = context.new_page()
                wire: dict[str, int] = {}
                raw: dict[str, int] = {}

                def count(
                    response: Response, wire: dict[str, int] = wire, raw: dict[str, int] = raw
                ) -> None:
                    body = response.body()
                    raw[response.url] = len(body)
                    wire[response.url] = int(response.headers.get("content-length") or len(body))

                page.on("response", count)
                page.goto(console_link(stack.base_url, STORE))
                page.wait_for_selector("table.grid tbody tr")
                first_row_ms = float(page.evaluate("performance.now()"))
                page.wait_for_load_state("networkidle")
                loads.append({"first_row_ms": first_row_ms, "wire": dict(wire), "raw": dict(raw)})
                context.close()
            browser.close()
    finally:
        stack.stop()
    times = [load["first_row_ms"] for load in loads]
    last = loads[-1]
    resources = sorted(
        (
            (
                url.split("/admin/", 1)[-1]
                if "/admin/" in url
                else url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0]
            ),
            last["wire"][url],
            last["raw"][url],
        )
        for url in last["wire"]
    )
    return {
        "customers": customers,
        "seeded_s": round(seeded_s, 1),
        "loads": repeat,
        "first_row_ms_median": round(statistics.median(times)),
        "first_row_ms_max": round(max(times)),
        "bytes_wire": sum(last["wire"].values()),
        "bytes_uncompressed": sum(last["raw"].values()),
        "requests": len(last["wire"]),
        "resources": [{"path": p, "wire": w, "raw": r} for p, w, r in resources],
    }


def text(result: dict[str, Any]) -> str:
    lines = [
        f"console first load ({result['customers']} customers, {result['loads']} cold loads, "
        f"seeded in {result['seeded_s']} s)",
        f"  first row of the list: median {result['first_row_ms_median']} ms, "
        f"max {result['first_row_ms_max']} ms after navigation start",
        f"  transferred: {result['bytes_wire'] / 1024:.1f} KiB compressed "
        f"({result['bytes_uncompressed'] / 1024:.1f} KiB uncompressed) in "
        f"{result['requests']} requests",
    ]
    lines += [f"    {r['path']:<40} {r['wire']:>7} B  ({r['raw']} B)" for r in result["resources"]]
    return "\n".join(lines)
