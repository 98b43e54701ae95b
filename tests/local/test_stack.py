"""LocalStack as a whole: starts, serves, stops cleanly, and starts again afresh.

It runs in a subprocess: a stack resets moto's process-wide state, which other test layers in
this pytest worker rely on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, os, threading
    import requests
    from clientela_local.seed import demo_token
    from clientela_local.stack import LocalStack

    threads_before = set(threading.enumerate())
    environment_before = dict(os.environ)
    report = {"listed": []}
    for run in range(2):
        with LocalStack() as stack, requests.Session() as http:
            http.headers["Authorization"] = "Bearer " + demo_token()
            report["listed"].append(len(http.get(stack.base_url + "/customers").json()["items"]))
            created = http.post(stack.base_url + "/customers", json={"email": "a@example.com"})
            report["created"] = created.status_code
            stack.wait_idle(30)
    report["threads_left"] = [t.name for t in threading.enumerate() if t not in threads_before]
    report["environment_restored"] = dict(os.environ) == environment_before
    print(json.dumps(report))
    """
)


def test_the_stack_stops_cleanly_and_starts_again_from_scratch():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["created"] == 201
    assert report["listed"] == [0, 0]  # the second run does not see the first run's customer
    assert report["threads_left"] == []
    assert report["environment_restored"]
