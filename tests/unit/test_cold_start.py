"""Each Lambda function of an app imports only its own code (root README, "Cold start").

Every function of a Chalice app loads the same `app.py`, named by Lambda in `_HANDLER`
(`app.<name>`). Each case imports an app in a fresh interpreter, as one of its functions, and
reads `sys.modules`: what a function does not use must not be there. Timings are for
`python -m bench --only startup`; the one bound checked here is the issue's: each function's
import takes at most 2x a bare `import boto3`, in CPU time, medians of runs interleaved with
boto3's in the same test (a ratio, so a slower or busier machine moves both sides). A
service's case takes a few seconds: one fresh interpreter per function (two side by side) is
the only place a function's imports can be seen alone.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from clientela.functions import API, ROUTE_TABLE_ENV
from clientela_local.package import write_route_table

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in ROOT.glob("services/*/app.py"))
# Imports `app` (from the service folder, as Lambda does) and prints the Lambda functions the
# app defines (as Chalice names their handlers), whether the running one resolves, and every
# module loaded.
PROBE = """\
import json, sys, time
started = time.process_time()
import app
cpu_seconds = time.process_time() - started
chalice = app.app
handlers = [
    *(config.handler_string for config in chalice.builtin_auth_handlers),
    *(config.handler_string for config in chalice.event_sources),
    *(function.handler_string for function in chalice.pure_lambda_functions),
]
running = sys.argv[1]
print(json.dumps({
    "functions": ["app"] * bool(chalice.routes) + [h.rpartition(".")[2] for h in handlers],
    "resolves": not running or callable(getattr(app, running, None)),
    "modules": sorted(sys.modules),
    "cpu_seconds": cpu_seconds,
}))
"""
BOTO3 = """\
import json, time
started = time.process_time()
import boto3
print(json.dumps({"cpu_seconds": time.process_time() - started}))
"""
# The bound (root README, "Cold start"), and the runs of each function and of boto3
# whose medians are compared (the first run of each function is the imports check's).
MAX_RATIO = 2.0
RUNS = 3
# Not at the bound yet (root README, "Cold start": what they still import), each held under a
# ceiling so that none grows back: their ratio, measured on a loaded machine, was 2.0-3.3x.
STILL_OVER = {
    "customers": (
        "publish_customer_changes",
        "record_customer_history",
        "on_inbound_event",
        "run_bulk_job",
        "on_export_request",
    ),
    "automation": (
        "on_contact_event",
        "on_ses_feedback",
        "on_flow_event",
        "on_flow_step",
        "fire_due_timers",
        "fire_date_triggers",
        "fire_flow_schedules",
        "on_inbound_mail",
    ),
    "credits": (
        "on_customer_event",
        "publish_credit_changes",
        "on_offer_event",
        "on_export_request",
        # 1.85-1.88x in the bench's run, 2.0-2.4x in this test's on a loaded machine: at the edge.
        "expire_credits",
        "reward_due_referrals",
        "grant_due_cashback",
    ),
    "exports": ("on_export_part", "on_privacy_event", "run_imports"),
}
CEILING = 3.5
RETRIES = 2
# What no function needs at start-up but its own: the token authorizer's JWT library. What none
# needs: `cryptography` (HS256 tokens need only hmac: clientela.auth), pydantic-settings
# (settings derive from clientela.settings.EnvSettings), what X-Ray's default patching would
# import (only botocore is traced).
AUTHORIZER_ONLY = ("jwt",)
NEVER = ("cryptography", "pydantic_settings", "requests", "sqlite3", "sqlalchemy", "httpx")
AUTHORIZER = "token_authorizer"


def _start(
    service: str, function: str, code: str = PROBE, table: Path | None = None
) -> subprocess.Popen[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("_HANDLER", "POWERTOOLS_TRACE_DISABLED")
    }
    # Tracing on, as on Lambda: the X-Ray patching is part of what a function imports.
    env |= {"AWS_LAMBDA_FUNCTION_NAME": f"clientela-{service}", "AWS_DEFAULT_REGION": "us-east-1"}
    if function:
        env["_HANDLER"] = f"app.{function}"
    if function == API and table is not None:
        env[ROUTE_TABLE_ENV] = str(table)  # as `make package` ships the app
    return subprocess.Popen(
        [sys.executable, "-c", code, function],
        cwd=ROOT / "services" / service,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(child: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = child.communicate()
    assert child.returncode == 0, stderr[-3000:]
    return dict(json.loads(stdout))


def _load(service: str, *functions: str, table: Path | None = None) -> list[dict[str, Any]]:
    """Each function imported in an interpreter of its own, two side by side."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(functions), 2):
        children = [_start(service, f, table=table) for f in functions[start : start + 2]]
        found.extend(_result(child) for child in children)
    return found


def _boto3(service: str) -> list[float]:
    """Two runs of `import boto3`, side by side as the functions run."""
    children = [_start(service, "", BOTO3) for _ in range(2)]
    return [float(_result(child)["cpu_seconds"]) for child in children]


def _loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in packages]


def _own(modules: list[str], service: str, role: str) -> list[str]:
    """The service's modules of one role (`routes`, `handlers`) that were imported."""
    prefix = f"chalicelib.{service}."
    return [m for m in modules if m.startswith(prefix) and m.rpartition(".")[2] == role]


@pytest.fixture(scope="module")
def tables() -> Any:
    with tempfile.TemporaryDirectory(prefix="clientela-routes-") as folder:
        yield Path(folder)


@pytest.mark.parametrize("service", SERVICES)
def test_each_function_imports_only_its_own_code(service: str, tables: Path) -> None:
    table = tables / f"{service}.json"
    write_route_table(ROOT / "services" / service, table)
    everything, api = _load(service, "", "app", table=table)
    # Off Lambda (tests, the local stack, `chalice package`, the API document) one process runs
    # every function: everything is there.
    assert _own(everything["modules"], service, "routes") or service in ("automation", "exports")
    functions = api["functions"]
    assert functions[:2] == ["app", AUTHORIZER]

    runs = [[api, *_load(service, *functions[1:])]]
    for function, found in zip(functions, runs[0], strict=True):
        modules = found["modules"]
        assert found["resolves"], f"{service}: Lambda cannot find app.{function}"
        assert _loaded(modules, NEVER) == [], f"{service}: {function}"
        if function != AUTHORIZER:
            assert _loaded(modules, AUTHORIZER_ONLY) == [], f"{service}: {function}"
        if function != "app":
            assert _own(modules, service, "routes") == [], f"{service}: {function}"
        else:
            assert _own(modules, service, "handlers") == [], f"{service}: the API handler"
            assert f"chalicelib.{service}.inbox" not in modules
            # With the route table, no route module is imported before its first request.
            assert _own(modules, service, "routes") == [], f"{service}: the API handler"

    boto3 = _boto3(service)
    for _ in range(RUNS - 1):
        runs.append(_load(service, *functions, table=table))
        boto3 += _boto3(service)
    base = statistics.median(boto3)
    ratios = {
        function: statistics.median(run[index]["cpu_seconds"] for run in runs) / base
        for index, function in enumerate(functions)
    }
    bound = {f: CEILING if f in STILL_OVER.get(service, ()) else MAX_RATIO for f in functions}
    over = {f: ratio for f, ratio in ratios.items() if ratio > bound[f]}
    # A busy machine (other tests, other work) can push one median over: each function over
    # its bound is measured again, beside boto3 at the same moment, twice at most; a function
    # that really grew stays over every time.
    for _ in range(RETRIES):
        if not over:
            break
        over = {f: ratio for f, ratio in _ratios_again(service, list(over), table).items()
                if ratio > bound[f]}  # fmt: skip
    shown = {f: f"{ratio:.2f}x > {bound[f]}x" for f, ratio in over.items()}
    assert shown == {}, f"{service}: imports over their bound, in CPU time vs import boto3"


def _ratios_again(service: str, functions: list[str], table: Path) -> dict[str, float]:
    """Each function's median over RUNS runs, each beside a run of `import boto3`."""
    ratios: dict[str, float] = {}
    for function in functions:
        spent: list[float] = []
        base: list[float] = []
        for _ in range(RUNS):
            pair = [_start(service, function, table=table), _start(service, "", BOTO3)]
            spent.append(float(_result(pair[0])["cpu_seconds"]))
            base.append(float(_result(pair[1])["cpu_seconds"]))
        ratios[function] = statistics.median(spent) / statistics.median(base)
    return ratios


def test_the_authorizer_loads_its_jwt_library_while_it_starts() -> None:
    (found,) = _load("customers", AUTHORIZER)
    assert _loaded(found["modules"], ("jwt",)) != []
    assert _own(found["modules"], "customers", "usecases") == []
