"""The console's first load: what the demo store's customer list costs a browser to show.

    python -m bench --only console [--console-customers 200] [--console-loads 5]

A local stack in this process (moto), a store seeded with `--console-customers` customers
through the API (no order history: the list's first page is what is measured), then Debian's
Chromium (as the browser tests drive it) opens the sign-in link `make run` prints, each time in
a fresh browser context (empty cache), and the clock stops when the first row of the list is
in the page (a MutationObserver installed before the page's own scripts notes the moment, so
no polling or round trip to the driver is counted). Bytes are what went over the wire:
Content-Length of each response, compressed when the server compressed it (the local gateway
gzips as CloudFront does).

Where the time goes: each load's Navigation Timing (the HTML's first byte and its end, DOM
content loaded) and Resource Timing (when each module, message bundle and API call started and
ended, from navigation start), medians over the loads. And the server alone: `GET /customers`
(the page the console asks for) timed from this process without a browser, so what the stack
takes is told apart from what the browser waits for.
"""

from __future__ import annotations

import contextlib
import statistics
import time
import urllib.request
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
FIRST_ROW = "table.grid tbody tr"
# Installed before any script of the page: notes when the list's first row enters the DOM.
FIRST_ROW_OBSERVER = """
(() => {
  const seen = () => {
    if (window.__firstRow === undefined && document.querySelector(FIRST_ROW)) {
      window.__firstRow = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(seen);
  observer.observe(document, { childList: true, subtree: true });
})();
""".replace("FIRST_ROW", repr(FIRST_ROW))
TIMINGS = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return {
    first_row: window.__firstRow,
    html_first_byte: nav.responseStart,
    html_end: nav.responseEnd,
    dom_content_loaded: nav.domContentLoadedEventEnd,
    resources: performance.getEntriesByType("resource").map((r) => ({
      name: r.name, start: r.startTime, first_byte: r.responseStart, end: r.responseEnd,
    })),
  };
}
"""
# The API calls the list asks for, alone: a first screen of rows, a whole page of the default
# size (what the console asked for at once before), the count with no filter.
SERVER_CALLS = (("/customers", "limit=15"), ("/customers", "limit=50"), ("/customers/count", ""))
SERVER_REPEAT = 15


def _short(url: str) -> str:
    if "/admin/" in url:
        return url.split("/admin/", 1)[-1] or "index.html"
    path = url.split("://", 1)[-1].split("/", 1)[-1]
    path, _, query = path.partition("?")
    # A cursor differs on each load: named, not shown, so the loads' rows line up.
    query = "&".join(
        "cursor=…" if part.startswith("cursor=") else part for part in query.split("&") if part
    )
    return "/" + path + (f"?{query}" if query else "")


def _server_alone(base_url: str, token: str) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for path, query in SERVER_CALLS:
        times: list[float] = []
        size = 0
        for _ in range(SERVER_REPEAT):
            request = urllib.request.Request(  # noqa: S310 - the local stack
                f"{base_url}{path}?{query}",
                headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"},
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                size = len(response.read())
            times.append((time.perf_counter() - started) * 1000)
        found[f"{path}?{query}" if query else path] = {
            "median_ms": round(statistics.median(times), 1),
            "min_ms": round(min(times), 1),
            "wire_bytes": size,
        }
    return found


def measure(customers: int, repeat: int, *, fast_moto: bool = False) -> dict[str, Any]:
    """`fast_moto`: moto's DynamoDB under `bench.fastmoto.faster_moto()` (same answers, without
    moto's cost of building them), which tells the local server's share of the wait apart."""
    from bench.fastmoto import faster_moto  # noqa: PLC0415

    with faster_moto() if fast_moto else contextlib.nullcontext():
        found = _measure(customers, repeat)
    return {**found, "fast_moto": fast_moto}


def _measure(customers: int, repeat: int) -> dict[str, Any]:
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
        # The seeded customers' events are still going through the stack's pollers (in this
        # process): they are let finish, so the loads measure the console, not the seeding.
        stack.wait_idle(timeout=300)
        seeded_s = time.perf_counter() - started
        server = _server_alone(stack.base_url, token)
        loads: list[dict[str, Any]] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(repeat):
                context = browser.new_context(locale="pt-BR")
                context.add_init_script(FIRST_ROW_OBSERVER)
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
                page.wait_for_selector(FIRST_ROW)
                page.wait_for_load_state("networkidle")
                timings = page.evaluate(TIMINGS)
                loads.append({"timings": timings, "wire": dict(wire), "raw": dict(raw)})
                context.close()
            browser.close()
    finally:
        stack.stop()
    return summary(customers, repeat, seeded_s, server, loads)


def _median(values: list[float]) -> int:
    return round(statistics.median(values))


def summary(
    customers: int,
    repeat: int,
    seeded_s: float,
    server: dict[str, dict[str, float]],
    loads: list[dict[str, Any]],
) -> dict[str, Any]:
    times = [load["timings"]["first_row"] for load in loads]
    last = loads[-1]
    resources = sorted((_short(url), last["wire"][url], last["raw"][url]) for url in last["wire"])
    # Per resource, in the order the browser asked for them (the first load's order).
    spans: dict[str, dict[str, list[float]]] = {}
    for load in loads:
        for entry in load["timings"]["resources"]:
            empty: dict[str, list[float]] = {"start": [], "first_byte": [], "end": []}
            span = spans.setdefault(_short(entry["name"]), empty)
            for key in ("start", "first_byte", "end"):
                span[key].append(entry[key])
    waterfall = [
        {
            "path": path,
            "start_ms": _median(span["start"]),
            "first_byte_ms": _median(span["first_byte"]),
            "end_ms": _median(span["end"]),
        }
        for path, span in spans.items()
    ]
    waterfall.sort(key=lambda row: (row["start_ms"], row["end_ms"]))
    page = {
        key: _median([load["timings"][key] for load in loads])
        for key in ("html_first_byte", "html_end", "dom_content_loaded")
    }
    return {
        "customers": customers,
        "seeded_s": round(seeded_s, 1),
        "loads": repeat,
        "first_row_ms_median": round(statistics.median(times)),
        "first_row_ms_max": round(max(times)),
        "first_row_ms_each": [round(t) for t in times],
        "page_ms_median": page,
        "waterfall_ms_median": waterfall,
        "server_alone": server,
        "bytes_wire": sum(last["wire"].values()),
        "bytes_uncompressed": sum(last["raw"].values()),
        "requests": len(last["wire"]),
        "resources": [{"path": p, "wire": w, "raw": r} for p, w, r in resources],
    }


def text(result: dict[str, Any]) -> str:
    page = result["page_ms_median"]
    lines = [
        f"console first load ({result['customers']} customers, {result['loads']} cold loads, "
        f"seeded in {result['seeded_s']} s"
        + (", moto sped up by bench/fastmoto.py)" if result.get("fast_moto") else ")"),
        f"  first row of the list: median {result['first_row_ms_median']} ms, "
        f"max {result['first_row_ms_max']} ms after navigation start "
        f"(each: {', '.join(str(t) for t in result['first_row_ms_each'])})",
        f"  transferred: {result['bytes_wire'] / 1024:.1f} KiB compressed "
        f"({result['bytes_uncompressed'] / 1024:.1f} KiB uncompressed) in "
        f"{result['requests']} requests",
        "  where the time goes (ms from navigation start, medians):",
        f"    {'index.html':<44} first byte {page['html_first_byte']:>5}  "
        f"end {page['html_end']:>5}",
    ]
    lines += [
        f"    {row['path']:<44} start {row['start_ms']:>5}  first byte {row['first_byte_ms']:>5}"
        f"  end {row['end_ms']:>5}"
        for row in result["waterfall_ms_median"]
    ]
    lines += [
        f"    {'DOM content loaded':<44} {page['dom_content_loaded']:>5}",
        f"    {'first row':<44} {result['first_row_ms_median']:>5}",
        f"  the server alone (this process, no browser, {SERVER_REPEAT} calls each, gzip):",
    ]
    lines += [
        f"    GET {path:<40} median {found['median_ms']:>6} ms  min {found['min_ms']:>6} ms"
        f"  {found['wire_bytes']} B"
        for path, found in result["server_alone"].items()
    ]
    lines.append("  bytes per resource (last load): wire (uncompressed)")
    lines += [f"    {r['path']:<44} {r['wire']:>7} B  ({r['raw']} B)" for r in result["resources"]]
    return "\n".join(lines)
