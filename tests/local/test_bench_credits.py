"""`python -m bench --only credits` runs and accounts for every request (tiny sizes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_credits_bench_section_runs() -> None:
    # A process of its own: the bench resets moto, whose state every server in a process shares.
    command = [sys.executable, "-m", "bench", "--only", "credits", "--json"]
    command += ["--credit-samples", "1", "--credit-lots", "97"]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    operations = {o["operation"]: o for o in json.loads(done.stdout)["credits"]}
    big = operations["debit over 97 lots (two steps)"]
    assert big["requests"]["dynamodb:TransactWriteItems"] == 2  # the commit, then one chunk
    assert all(not o["unmetered"] for o in operations.values())
    assert all(o["busiest_keys"] for o in operations.values())
    listing = next(o for name, o in operations.items() if name.startswith("GET /wallets ("))
    assert all(key["wcu"] == 0 for key in listing["busiest_keys"])
