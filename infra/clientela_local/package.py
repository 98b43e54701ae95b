"""Builds every deployable artifact: `python -m clientela_local.package --out build`.

For each service, build/<svc>/ gets:
- `app/`: services/<svc> plus the shared code vendored into `app/vendor/` (lib/clientela and
  events/clientela_events). This is the one way shared code reaches a Lambda package; the repo
  never holds copies of it. Chalice's policy generation is switched off in this copy: each
  function's role gets its permissions from infra/<svc>.yaml (see `_use_template_policy`).
- `merge-template.json`: fragments/service-api.yaml merged with infra/<svc>.yaml. It is
  written as JSON because Chalice switches its output to YAML when the merge template is YAML,
  and the rest of the tooling expects `sam.json`.
- `sam.json` and `deployment.zip`, from `chalice package --stage prod`. The zip then gets the
  bytecode of every `.py` in it (see `add_bytecode`): Lambda's code directory is read-only, so
  without `__pycache__` every cold start compiles every module it imports.
build/ also gets platform.yaml and edge.yaml, the two templates no Chalice app owns.

build/<svc>/app/.chalice/deployments is kept between runs: Chalice reuses the zip it built
there, with its Lambda (manylinux) wheels from PyPI, as long as the app, its requirements and
the vendored code are unchanged; its `bytecode/` folder keeps the zip with bytecode built from
that zip, so an unchanged service is not compiled again.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import posixpath
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from clientela.functions import ROUTE_TABLE
from clientela_local import cfn

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SERVICES = ("customers", "automation", "credits", "exports")
SHARED_PACKAGES = (ROOT / "lib" / "clientela", ROOT / "events" / "clientela_events")
STANDALONE_TEMPLATES = ("platform.yaml", "edge.yaml")
STAGE = "prod"

# Never part of a package: caches, and what Chalice or a developer left in the source tree.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
_SOURCE_ONLY = ("vendor", "deployments", "deployed")  # services/<svc>/vendor, .chalice/*
_KEPT_BETWEEN_RUNS = Path(".chalice") / "deployments"
_PLACEHOLDER_POLICY_FILE = f"policy-{STAGE}.json"
_PLACEHOLDER_SID = "ReplacedByTheMergeTemplate"
_PLACEHOLDER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": _PLACEHOLDER_SID, "Effect": "Deny", "Action": "*", "Resource": "*"}],
}

# The zip with bytecode, cached under .chalice/deployments by a hash of the zip Chalice built.
_BYTECODE_CACHE = "bytecode"
_BYTECODE_FORMAT = b"1"  # bump when the zip `_write_with_bytecode` makes changes for one input
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say, as Chalice's own entries
_CODE_URI = "./deployment.zip"
# Run by this interpreter with no site-packages and a fixed hash seed, so that the bytecode
# depends only on the sources: a fresh process per zip also keeps one service's compiling from
# changing another's (marshal's output depends on reference counts of shared constants).
_COMPILE = """\
import json, py_compile, sys
failed = []
for source, cfile, dfile in json.load(sys.stdin):
    try:
        py_compile.compile(
            source, cfile, dfile, doraise=True, optimize=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError as error:
        failed.append([dfile, error.msg.strip().splitlines()[-1]])
json.dump(failed, sys.stdout)
"""


def package(out: Path, services: tuple[str, ...] = SERVICES) -> None:
    """Builds the given services into `out`, plus the standalone templates."""
    out.mkdir(parents=True, exist_ok=True)
    for name in STANDALONE_TEMPLATES:
        shutil.copyfile(INFRA / name, out / name)
    # `chalice package` spends its time in pip; the services do not share anything on disk.
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        for service, seconds in pool.map(lambda svc: package_service(svc, out), services):
            print(f"packaged {service} in {seconds:.1f} s -> {out / service}")


def package_service(service: str, out: Path) -> tuple[str, float]:
    """Builds `out/<service>`; returns the service and the seconds it took."""
    started = time.monotonic()
    target = out / service
    app_dir = target / "app"
    _copy_app(ROOT / "services" / service, app_dir)
    write_route_table(ROOT / "services" / service, app_dir / ROUTE_TABLE)
    _vendor_shared_code(app_dir / "vendor")
    _use_template_policy(app_dir / ".chalice")
    requirements = app_dir / "requirements.txt"
    if not requirements.exists():
        requirements.write_text(_runtime_requirements(), encoding="utf-8")

    merge_template = target / "merge-template.json"
    merged = cfn.deep_merge(
        cfn.load(INFRA / "fragments" / "service-api.yaml"), cfn.load(INFRA / f"{service}.yaml")
    )
    merge_template.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")

    _chalice_package(app_dir, merge_template, target)
    check_merged(target / "sam.json")
    _prune_package_cache(app_dir / _KEPT_BETWEEN_RUNS)
    add_bytecode(target, app_dir / _KEPT_BETWEEN_RUNS / _BYTECODE_CACHE)
    return service, time.monotonic() - started


# The app's routes, as `clientela.api.Service.route_table` lists them (the app imported off
# Lambda, so every route module declares its routes).
_ROUTE_TABLE = """\
import json, sys
import app
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(app.service.route_table(), out, indent=1)
"""


def write_route_table(service_dir: Path, target: Path) -> None:
    """Writes the route table with which the API handler's function imports each route module
    on the first request of one of its routes (clientela.functions.route_table)."""
    env = {key: value for key, value in os.environ.items() if key != "_HANDLER"}
    env["AWS_DEFAULT_REGION"] = env.get("AWS_DEFAULT_REGION", "us-east-1")
    command = [sys.executable, "-c", _ROUTE_TABLE, str(target.resolve())]
    result = subprocess.run(  # noqa: PLW1510 - our interpreter; the code is checked below
        command, cwd=service_dir, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"the route table of {service_dir} failed:\n{result.stderr[-3000:]}")


def _copy_app(source: Path, app_dir: Path) -> None:
    """Mirrors `source` into `app_dir`, keeping only Chalice's package cache."""
    if app_dir.exists():
        for child in app_dir.iterdir():
            if child.name == ".chalice":
                for entry in child.iterdir():
                    if entry.name != _KEPT_BETWEEN_RUNS.name:
                        _remove(entry)
            else:
                _remove(child)

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = set(_IGNORED(directory, names))
        at_top = Path(directory) == source
        in_chalice = Path(directory) == source / ".chalice"
        return ignored | {
            name
            for name in names
            if (at_top and name == "vendor") or (in_chalice and name in _SOURCE_ONLY)
        }

    shutil.copytree(source, app_dir, ignore=ignore, dirs_exist_ok=True)


def _vendor_shared_code(vendor: Path) -> None:
    vendor.mkdir(exist_ok=True)
    for package_dir in SHARED_PACKAGES:
        shutil.copytree(package_dir, vendor / package_dir.name, ignore=_IGNORED)


def _use_template_policy(chalice_dir: Path) -> None:
    """Turns off Chalice's policy generation: the role's policy is written in infra/<svc>.yaml.

    Chalice's source analyser would otherwise guess a policy from the boto3 calls in app.py
    (and crashes on some valid code). The placeholder it gets instead denies everything, so a
    merge template that forgot to replace it fails closed.
    """
    config_file = chalice_dir / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    stage = config.setdefault("stages", {}).setdefault(STAGE, {})
    stage["autogen_policy"] = False
    stage["iam_policy_file"] = _PLACEHOLDER_POLICY_FILE
    config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (chalice_dir / _PLACEHOLDER_POLICY_FILE).write_text(
        json.dumps(_PLACEHOLDER_POLICY, indent=2) + "\n", encoding="utf-8"
    )


def _runtime_requirements() -> str:
    lines = (ROOT / "requirements" / "runtime.in").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join(kept) + "\n"


def _chalice_package(app_dir: Path, merge_template: Path, target: Path) -> None:
    chalice = Path(sys.executable).with_name("chalice")
    command = [
        str(chalice),
        "package",
        "--stage",
        STAGE,
        "--merge-template",
        str(merge_template.resolve()),
        str(target.resolve()),
    ]
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(  # noqa: PLW1510 - the return code is checked below
        command, cwd=app_dir, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"chalice package failed in {app_dir}:\n{result.stdout}\n{result.stderr}"
        )


def check_merged(sam_template: Path) -> None:
    """Fails when the merge template and the Chalice app disagree on logical ids.

    A merge template names the ids Chalice generates (`PublishCustomerChanges`,
    `ApiHandlerRole`, ...). A renamed handler would otherwise deploy a resource without a Type;
    a new one, a role still holding the deny-all placeholder.
    """
    resources = cfn.load(sam_template)["Resources"]
    orphans = sorted(name for name, resource in resources.items() if "Type" not in resource)
    placeholders = sorted(
        name
        for name, resource in resources.items()
        if resource.get("Type") == "AWS::IAM::Role" and _PLACEHOLDER_SID in json.dumps(resource)
    )
    problems = []
    if orphans:
        problems.append(f"completes resources Chalice did not generate: {', '.join(orphans)}")
    if placeholders:
        problems.append(f"gives no policy to the roles {', '.join(placeholders)}")
    if problems:
        raise RuntimeError(f"{sam_template}: the merge template " + "; and ".join(problems))


def _prune_package_cache(cache: Path) -> None:
    # Chalice names each zip by a hash of the whole app, so every change leaves a ~20 MB zip
    # behind that only an exact revert could reuse. Keep the newest only.
    zips = sorted(cache.glob("*.zip"), key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in zips[1:]:
        stale.unlink()


def add_bytecode(target: Path, cache: Path) -> None:
    """Adds to `target/deployment.zip` the bytecode of each of its `.py` files.

    Compiled by this interpreter, which must be the Python of every function in
    `target/sam.json` (see `check_runtime`), into the standard `__pycache__/<name>.<tag>.pyc`.
    The pycs are unchecked-hash ones: extracting a zip does not keep the sources' mtimes, which a
    timestamp pyc must match, and an unchecked-hash pyc is used without reading its source.
    The zip is written again with sorted entries and fixed dates and modes, so the same zip from
    Chalice always gives the same bytes; `cache` keeps the result for the next build.
    """
    artifact = target / "deployment.zip"
    check_runtime(target / "sam.json")
    digest = hashlib.sha256(_BYTECODE_FORMAT + importlib.util.MAGIC_NUMBER)
    with artifact.open("rb") as built:
        digest.update(hashlib.file_digest(built, "sha256").digest())
    cached = cache / f"{digest.hexdigest()}.zip"
    if not cached.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        failed = _write_with_bytecode(artifact, partial)
        partial.replace(cached)
        for name, reason in failed:
            print(f"{target.name}: no bytecode for {name}: {reason}", file=sys.stderr)
    for stale in cache.iterdir():
        if stale != cached:
            _remove(stale)
    shutil.copyfile(cached, artifact)


def check_runtime(sam_template: Path) -> None:
    """Fails unless every function runs this interpreter's Python from `./deployment.zip`.

    Bytecode only loads in the Python minor version that wrote it (the magic number); Lambda
    would silently ignore the rest and compile from source at every cold start.
    """
    template = cfn.load(sam_template)
    default = template.get("Globals", {}).get("Function", {}).get("Runtime")
    ours = f"python{sys.version_info.major}.{sys.version_info.minor}"
    problems = []
    if sys.implementation.name != "cpython":
        problems.append(f"the build runs {sys.implementation.name}, not CPython")
    for name, resource in sorted(template["Resources"].items()):
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        runtime = properties.get("Runtime", default)
        if runtime != ours:
            problems.append(f"{name} runs {runtime}, not {ours}")
        if properties.get("CodeUri") != _CODE_URI:
            problems.append(f"{name} deploys {properties.get('CodeUri')}, not {_CODE_URI}")
    if problems:
        raise RuntimeError(
            f"{sam_template}: cannot add bytecode for the Lambda runtime, built by"
            f" {sys.executable} (Python {sys.version.split()[0]}): " + "; ".join(problems)
        )


def _write_with_bytecode(source: Path, out: Path) -> list[tuple[str, str]]:
    """Writes `source` plus bytecode to `out`; returns the (file, reason) that did not compile."""
    with (
        zipfile.ZipFile(source) as archive,
        tempfile.TemporaryDirectory(prefix="clientela-bytecode-") as scratch,
    ):
        entries = {info.filename: info for info in archive.infolist()}  # the last copy wins
        jobs: list[tuple[str, str, str]] = []
        for name in sorted(entries):
            if not name.endswith(".py"):
                continue
            if name.startswith("/") or ".." in name.split("/"):
                raise RuntimeError(f"{source}: unsafe file name {name!r}")
            path = Path(scratch, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(entries[name]))
            jobs.append((str(path), str(Path(scratch, _pyc_name(name))), name))
        failed = _compile(jobs)
        pycs = {_pyc_name(name): Path(cfile) for _, cfile, name in jobs if Path(cfile).is_file()}
        with zipfile.ZipFile(out, "w") as rewritten:
            for name in sorted(entries.keys() | pycs.keys()):
                original = entries.get(name) if name not in pycs else None
                data = archive.read(original) if original else pycs[name].read_bytes()
                rewritten.writestr(_entry(name, original), data)
    return failed


def _pyc_name(source: str) -> str:
    """`a/b.py` -> `a/__pycache__/b.cpython-311.pyc`, where this interpreter's import looks."""
    folder, file = posixpath.split(source)
    tag = sys.implementation.cache_tag
    return posixpath.join(folder, "__pycache__", f"{file.removesuffix('.py')}.{tag}.pyc")


def _compile(jobs: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    result = subprocess.run(  # noqa: PLW1510 - the return code is checked below
        [sys.executable, "-S", "-c", _COMPILE],
        input=json.dumps(jobs),
        env={"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"compiling the package's bytecode failed:\n{result.stderr}")
    return [(name, reason) for name, reason in json.loads(result.stdout)]


def _entry(name: str, original: zipfile.ZipInfo | None) -> zipfile.ZipInfo:
    """A zip entry that depends on nothing but `name` and whether the original was executable."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.create_system = 3  # Unix, so that the modes below are honoured
    executable = original is not None and (original.external_attr >> 16) & 0o111
    if name.endswith("/"):
        info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10  # MS-DOS directory flag
    else:
        info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
    info.compress_type = original.compress_type if original else zipfile.ZIP_DEFLATED
    return info


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--service", action="append", choices=SERVICES, dest="services")
    args = parser.parse_args(argv)
    started = time.monotonic()
    package(args.out, tuple(args.services or SERVICES))
    print(f"packaged in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
