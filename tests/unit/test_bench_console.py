"""The console bench's breakdown: each file and API call lined up across loads, medians."""

from __future__ import annotations

from typing import Any

from bench import console

BASE = "http://127.0.0.1:8123"


def _load(first_row: float, list_end: float, cursor: str) -> dict[str, Any]:
    entries = [
        {"name": f"{BASE}/admin/js/app.js", "start": 50.0, "first_byte": 90.0, "end": 100.0},
        {
            "name": f"{BASE}/customers?limit=15",
            "start": 300.0,
            "first_byte": 600.0,
            "end": list_end,
        },
        {
            "name": f"{BASE}/customers?limit=35&cursor={cursor}",
            "start": list_end + 10,
            "first_byte": list_end + 200,
            "end": list_end + 210,
        },
    ]
    timings = {
        "first_row": first_row,
        "html_first_byte": 10.0,
        "html_end": 12.0,
        "dom_content_loaded": 200.0,
        "resources": entries,
    }
    wire = {e["name"]: 100 for e in entries}
    return {"timings": timings, "wire": wire, "raw": dict.fromkeys(wire, 400)}


def test_each_call_is_lined_up_across_loads_whatever_its_cursor() -> None:
    loads = [_load(700.0, 650.0, "abc"), _load(900.0, 850.0, "xyz"), _load(800.0, 750.0, "q")]

    found = console.summary(100, 3, 1.0, {}, loads)

    assert found["first_row_ms_median"] == 800
    assert found["first_row_ms_max"] == 900
    assert [row["path"] for row in found["waterfall_ms_median"]] == [
        "js/app.js",
        "/customers?limit=15",
        "/customers?limit=35&cursor=…",
    ]
    rest = found["waterfall_ms_median"][2]
    assert (rest["start_ms"], rest["first_byte_ms"], rest["end_ms"]) == (760, 950, 960)
    assert found["page_ms_median"]["dom_content_loaded"] == 200
    assert found["requests"] == 3
    assert "cursor=…" in console.text(found)
