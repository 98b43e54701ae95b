"""Each Lambda function of an app imports only its own code (root README, "Cold start").

Every function of a Chalice app loads the same `app.py`, named by Lambda in `_HANDLER`
(`app.<name>`). Each case imports an app in a fresh interpreter, as one of its functions, and
reads `sys.modules`: what a function does not use must not be there. Timings are for
`python -m bench --only startup`, never for a test. A service's case takes a few seconds: one
fresh interpreter per function (they run side by side) is the only place a function's imports
can be seen alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in ROOT.glob("services/*/app.py"))
# Imports `app` (from the service folder, as Lambda does) and prints the Lambda functions the
# app defines (as Chalice names their handlers), whether the running one resolves, and every
# module loaded.
PROBE = """\
import json, sys
import app
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
}))
"""
# What no function needs at start-up but its own: the token authorizer's JWT library. What none
# needs: `cryptography` (HS256 tokens need only hmac: clientela.auth), pydantic-settings
# (settings derive from clientela.settings.EnvSettings), what X-Ray's default patching would
# import (only botocore is traced).
AUTHORIZER_ONLY = ("jwt",)
NEVER = ("cryptography", "pydantic_settings", "requests", "sqlite3", "sqlalchemy", "httpx")
AUTHORIZER = "token_authorizer"


def _start(service: str, function: str) -> subprocess.Popen[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("_HANDLER", "POWERTOOLS_TRACE_DISABLED")
    }
    # Tracing on, as on Lambda: the X-Ray patching is part of what a function imports.
    env |= {"AWS_LAMBDA_FUNCTION_NAME": f"clientela-{service}", "AWS_DEFAULT_REGION": "us-east-1"}
    if function:
        env["_HANDLER"] = f"app.{function}"
    return subprocess.Popen(
        [sys.executable, "-c", PROBE, function],
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


def _load(service: str, *functions: str) -> list[dict[str, Any]]:
    """Each function imported in an interpreter of its own, side by side."""
    return [_result(child) for child in [_start(service, f) for f in functions]]


def _loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in packages]


def _own(modules: list[str], service: str, role: str) -> list[str]:
    """The service's modules of one role (`routes`, `handlers`) that were imported."""
    prefix = f"chalicelib.{service}."
    return [m for m in modules if m.startswith(prefix) and m.rpartition(".")[2] == role]


@pytest.mark.parametrize("service", SERVICES)
def test_each_function_imports_only_its_own_code(service: str) -> None:
    everything, api = _load(service, "", "app")
    # Off Lambda (tests, the local stack, `chalice package`, the API document) one process runs
    # every function: everything is there.
    assert _own(everything["modules"], service, "routes") or service in ("automation", "exports")
    functions = api["functions"]
    assert functions[:2] == ["app", AUTHORIZER]

    for function, found in zip(functions, [api, *_load(service, *functions[1:])], strict=True):
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


def test_the_authorizer_loads_its_jwt_library_while_it_starts() -> None:
    (found,) = _load("customers", AUTHORIZER)
    assert _loaded(found["modules"], ("jwt",)) != []
    assert _own(found["modules"], "customers", "usecases") == []
