"""Start-up: each Lambda function's handler module in a fresh interpreter, beside `import boto3`.

Every Lambda function of a Chalice app (the API handler `app`, the token authorizer, each
event, queue and schedule handler) loads the same `app.py`; Lambda names the function in
`_HANDLER` (`app.<name>`), and `clientela.functions` lets the app import only that function's
code. Every run is a new child process (`importprobe.py`) with a Lambda-like environment
(function name, `_HANDLER`, `LAMBDA_TASK_ROOT`, region, the stage's environment variables from
`.chalice/config.json`; for the API handler, the route table `make package` writes):
Powertools and the X-Ray SDK then behave as on Lambda. Runs interleave
the functions so drift in machine load spreads evenly; the report gives medians and the ratio to
the boto3 median of the same run, in wall time and in the child's CPU time (user + system),
which a machine busy with other work disturbs far less than the wall time.

"no .pyc" runs compile every module outside the standard library from source, as a Lambda cold
start would if the deployment package shipped no bytecode (Chalice's alone does not; `make
package` adds it): the children get a PYTHONPYCACHEPREFIX holding only the standard library's
bytecode, and write none. The column shows what that bytecode saves.
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.text import heading, number, table
from clientela.functions import API, ROUTE_TABLE_ENV
from clientela_local.package import write_route_table

REPO = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).with_name("importprobe.py")
SERVICES = ("customers", "automation", "credits", "exports")
REGION = "us-east-1"
NO_PYC_SERVICES = 1  # compiling from source is slow: boto3 and the first function (customers API)


@dataclass
class Runs:
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def median_rss_mib(self) -> float:
        return statistics.median(self.rss_kib) / 1024

    @property
    def median_cpu_ms(self) -> float:
        return statistics.median(self.cpu_seconds) * 1000

    def columns(self, base: Runs, *, cpu: bool = False) -> list[str]:
        """Median ms, min-max ms, ratio to `base`'s median, (CPU ms and ratio), peak RSS MiB."""
        if not self.seconds:
            return ["-"] * (6 if cpu else 4)
        low, high = (number(f(self.seconds) * 1000, 0) for f in (min, max))
        ratio = f"{self.median_ms / base.median_ms:.1f}x"
        used = [number(self.median_cpu_ms, 0), f"{self.median_cpu_ms / base.median_cpu_ms:.2f}x"]
        return [
            number(self.median_ms, 0), f"{low}-{high}", ratio, *(used if cpu else []),
            f"{self.median_rss_mib:.1f}",
        ]  # fmt: skip


@dataclass
class Module:
    name: str
    target: str  # "boto3" or the path of a service's app.py
    env: dict[str, str]
    warm: Runs = field(default_factory=Runs)  # with the .pyc files the venv has
    cold: Runs = field(default_factory=Runs)  # no .pyc outside the standard library
    heaviest: list[tuple[str, float]] = field(default_factory=list)  # package, share of time
    handler_missing: bool = False  # app.py has no such name: Lambda could not start it


def lambda_env(service: str | None, function: str | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": f"clientela-{service or 'boto3'}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    }
    if service:
        # The X-Ray SDK takes its Lambda mode (no sampling client) from LAMBDA_TASK_ROOT.
        env["LAMBDA_TASK_ROOT"] = str(REPO / "services" / service)
    if function:
        env["_HANDLER"] = f"app.{function}"
    config = REPO / "services" / str(service) / ".chalice" / "config.json"
    if service and config.is_file():
        stage = json.loads(config.read_text()).get("stages", {}).get("prod", {})
        env.update(stage.get("environment_variables", {}))
    return env


def _child(
    module: Module,
    *,
    extra: dict[str, str] | None = None,
    flags: tuple[str, ...] = (),
    args: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-P", *flags, str(PROBE), module.target, *args]
    env = {**module.env, **(extra or {})}
    # Our own interpreter on our own probe script: no untrusted input.
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"importing {module.name} failed:\n{done.stderr[-2000:]}")
    return done


def _sample(module: Module, runs: Runs, extra: dict[str, str] | None = None) -> list[str]:
    found = json.loads(_child(module, extra=extra).stdout)
    module.handler_missing = not found["handler_found"]
    runs.seconds.append(found["seconds"])
    runs.cpu_seconds.append(found["cpu_seconds"])
    runs.rss_kib.append(found["rss_kib"])
    return list(found["stdlib"])


def _precompile(sources: set[str], prefix: str) -> None:
    """Bytecode of these standard library files, where PYTHONPYCACHEPREFIX=prefix looks."""
    saved, sys.pycache_prefix = sys.pycache_prefix, prefix
    try:
        for source in sources:
            target = importlib.util.cache_from_source(source)
            py_compile.compile(source, cfile=target, doraise=False, quiet=2)
    finally:
        sys.pycache_prefix = saved


def _heaviest(module: Module, top: int = 5) -> list[tuple[str, float]]:
    """Self time of `-X importtime`, summed per top-level package: the largest shares."""
    stderr = _child(module, flags=("-X", "importtime")).stderr
    per_package: Counter[str] = Counter()
    for line in stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            per_package[parts[2].strip().split(".")[0]] += int(parts[0])
    total = sum(per_package.values()) or 1
    return [(name, us / total) for name, us in per_package.most_common(top)]


def functions(service: str, path: Path) -> list[str]:
    """The Lambda functions the app defines, as Chalice names their handlers (`app.<name>`)."""
    module = Module(service, "--functions", lambda_env(service))
    return list(json.loads(_child(module, args=(str(path),)).stdout))


def modules(tables: Path) -> list[Module]:
    """Every function of every app; the API handlers with the route table `make package`
    would write (written into `tables`), as on Lambda."""
    found = [Module("import boto3", "boto3", lambda_env(None))]
    for service in SERVICES:
        path = REPO / "services" / service / "app.py"
        if path.is_file():
            table = tables / f"{service}-route_table.json"
            write_route_table(path.parent, table)
            for function in functions(service, path):
                env = lambda_env(service, function)
                if function == API:
                    env[ROUTE_TABLE_ENV] = str(table)
                found.append(Module(f"{service}: {function}", str(path), env))
    return found


def run(repeat: int, cold_repeat: int) -> list[Module]:
    with tempfile.TemporaryDirectory(prefix="clientela-bench-routes-") as tables:
        return _run(modules(Path(tables)), repeat, cold_repeat)


def _run(measured: list[Module], repeat: int, cold_repeat: int) -> list[Module]:
    stdlib: set[str] = set()
    for _ in range(repeat):
        for module in measured:
            stdlib.update(_sample(module, module.warm))
    with tempfile.TemporaryDirectory(prefix="clientela-bench-pyc-") as prefix:
        _precompile(stdlib, prefix)
        no_pyc = {"PYTHONPYCACHEPREFIX": prefix, "PYTHONDONTWRITEBYTECODE": "1"}
        for _ in range(cold_repeat):
            for module in measured[: 1 + NO_PYC_SERVICES]:
                _sample(module, module.cold, no_pyc)
    for module in measured[1:]:
        module.heaviest = _heaviest(module)
    return measured


def render(measured: list[Module], repeat: int, cold_repeat: int) -> str:
    base = measured[0]
    names = [m.name + " (!)" * m.handler_missing for m in measured]
    rows = [
        [name, *m.warm.columns(base.warm, cpu=True), *m.cold.columns(base.cold)]
        for name, m in zip(names, measured, strict=True)
    ]
    headers = [
        "service: function", "import ms", "min-max", "vs boto3", "CPU ms", "vs boto3",
        "peak RSS MiB",
        "no .pyc: ms", "min-max", "vs boto3", "peak RSS MiB",
    ]  # fmt: skip
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        heading("Start-up: each Lambda function's handler module, fresh interpreter per run"),
        table(headers, rows),
        "",
        f"  Medians of {repeat} runs (no .pyc: {cold_repeat}), interleaved. Python"
        f" {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}.",
        *(
            ["  (!): app.py has no such name; Lambda would fail to start that function."]
            if any(m.handler_missing for m in measured)
            else []
        ),
        "  Peak RSS: the whole child process. 'no .pyc': every module outside the standard",
        "  library compiled from source, as a cold start would without the bytecode that",
        "  `make package` adds to each deployment zip:",
        *_package_lines(),
        "",
        "  Largest shares of import time (-X importtime self time, by top-level package):",
        *(
            f"    {m.name}: " + ", ".join(f"{name} {share:.0%}" for name, share in m.heaviest)
            for m in measured[1:]
        ),
    ]
    return "\n".join(lines)


def _package_lines() -> list[str]:
    """What the last `make package` built: does a deployment zip carry bytecode?"""
    lines = []
    for archive in sorted(REPO.glob("build/*/deployment.zip")):
        with zipfile.ZipFile(archive) as zipped:
            names = zipped.namelist()
        pyc = sum(name.endswith(".pyc") for name in names)
        py = sum(name.endswith(".py") for name in names)
        lines.append(f"  {archive.relative_to(REPO)}: {py} .py files, {pyc} .pyc files.")
    return lines


def as_json(measured: list[Module]) -> list[dict[str, Any]]:
    return [
        {
            "module": m.name,
            "import_seconds": m.warm.seconds,
            "import_cpu_seconds": m.warm.cpu_seconds,
            "peak_rss_kib": m.warm.rss_kib,
            "no_pyc_import_seconds": m.cold.seconds,
            "no_pyc_peak_rss_kib": m.cold.rss_kib,
            "heaviest_packages": dict(m.heaviest),
            "handler_missing": m.handler_missing,
        }
        for m in measured
    ]
