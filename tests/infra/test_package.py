"""The packaging steps that need neither PyPI nor Chalice (`make package` runs the rest)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from clientela_local import package

LAMBDA_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
# Imports `app` with the given folders first on the path and no site-packages (-S), and prints
# which modules came from the first folder and which of those were compiled from source: the
# import system calls `source_to_code` only when it has no usable bytecode for a module.
IMPORT_PROBE = """\
import importlib.machinery, json, sys
task = {task!r}
sys.path[:0] = {path!r}
compiled = []
source_to_code = importlib.machinery.SourceFileLoader.source_to_code
def recording(self, data, path, **options):
    compiled.append(path)
    return source_to_code(self, data, path, **options)
importlib.machinery.SourceFileLoader.source_to_code = recording
import app
modules = sorted(
    name for name, module in sys.modules.items()
    if (getattr(module, "__file__", None) or "").startswith(task + "/")
)
print(json.dumps({{
    "modules": modules,
    "compiled": sorted(path for path in compiled if path.startswith(task + "/")),
}}))
"""


def _write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_app_copy_drops_stale_files_and_keeps_chalices_package_cache(tmp_path: Path) -> None:
    source = tmp_path / "services" / "shop"
    _write(source / "app.py", "app = 1")
    _write(source / "chalicelib" / "shop" / "store.py")
    _write(source / "chalicelib" / "shop" / "__pycache__" / "store.cpython-311.pyc")
    _write(source / "vendor" / "stale_copy.py")  # hand-vendored code never reaches the build
    _write(source / ".chalice" / "config.json", "{}")
    _write(source / ".chalice" / "deployments" / "local.zip")
    app_dir = tmp_path / "build" / "shop" / "app"
    _write(app_dir / "removed_since.py")
    _write(app_dir / ".chalice" / "deployments" / "cached.zip")

    package._copy_app(source, app_dir)

    files = sorted(str(p.relative_to(app_dir)) for p in app_dir.rglob("*") if p.is_file())
    assert files == [
        ".chalice/config.json",
        ".chalice/deployments/cached.zip",
        "app.py",
        "chalicelib/shop/store.py",
    ]


def test_chalice_policy_generation_is_replaced_by_a_deny_all_placeholder(tmp_path: Path) -> None:
    _write(tmp_path / "config.json", json.dumps({"stages": {"prod": {"xray": True}}}))
    package._use_template_policy(tmp_path)
    stage = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))["stages"]["prod"]
    assert stage == {"xray": True, "autogen_policy": False, "iam_policy_file": "policy-prod.json"}
    policy = json.loads((tmp_path / "policy-prod.json").read_text(encoding="utf-8"))
    assert policy["Statement"][0]["Effect"] == "Deny"


def test_runtime_requirements_are_the_pinned_lines_of_runtime_in() -> None:
    lines = package._runtime_requirements().splitlines()
    assert lines
    assert all(line and not line.startswith("#") for line in lines)
    assert any(line.startswith("aws-lambda-powertools") for line in lines)


def _sam(tmp_path: Path, resources: dict[str, object]) -> Path:
    path = tmp_path / "sam.json"
    path.write_text(json.dumps({"Resources": resources}), encoding="utf-8")
    return path


def test_a_merge_for_a_resource_chalice_did_not_generate_fails_the_build(tmp_path: Path) -> None:
    sam = _sam(
        tmp_path,
        {
            "APIHandler": {"Type": "AWS::Serverless::Function"},
            "OldHandlerRole": {"Properties": {"Policies": []}},
        },
    )
    with pytest.raises(RuntimeError, match="did not generate: OldHandlerRole"):
        package.check_merged(sam)


def test_a_role_left_with_the_placeholder_policy_fails_the_build(tmp_path: Path) -> None:
    placeholder = {"PolicyName": "p", "PolicyDocument": package._PLACEHOLDER_POLICY}
    sam = _sam(
        tmp_path,
        {"NewHandlerRole": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [placeholder]}}},
    )
    with pytest.raises(RuntimeError, match="no policy to the roles NewHandlerRole"):
        package.check_merged(sam)


def _pyc(source: str) -> str:
    """Where the import system looks for the bytecode of `source` (a path in a zip)."""
    folder, _, file = source.rpartition("/")
    pyc = f"__pycache__/{file.removesuffix('.py')}.{sys.implementation.cache_tag}.pyc"
    return f"{folder}/{pyc}" if folder else pyc


def _import_app(task: Path, *more_path: Path) -> dict[str, list[str]]:
    """Imports `app` from the unpacked `task` as Lambda would, writing no bytecode."""
    path = [str(task), *map(str, more_path)]
    result = subprocess.run(
        [sys.executable, "-S", "-c", IMPORT_PROBE.format(task=str(task), path=path)],
        cwd=task,
        env={**LAMBDA_ENV, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, list[str]] = json.loads(result.stdout)
    return found


def _unpack(artifact: Path, task: Path) -> Path:
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(task)
    return task


def _chalice_output(target: Path, runtime: str) -> None:
    """What `chalice package` leaves in `target`: a zip without bytecode and sam.json."""
    files = {  # Chalice's order is the file system's
        "chalicelib/shop/usecases.py": "def total(prices):\n    return sum(prices)\n",
        "chalicelib/__init__.py": "",
        "app.py": "from chalicelib.shop import usecases\napp = usecases.total([1, 2])\n",
        "chalicelib/shop/__init__.py": "",
        "lib-only-for-python2.py": "print 'never imported'\n",
        "data/prices.json": "[1, 2]\n",
    }
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target / "deployment.zip", "w") as archive:
        for name, text in files.items():
            entry = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, text)
    properties = {"Runtime": runtime, "CodeUri": "./deployment.zip"}
    function = {"Type": "AWS::Serverless::Function", "Properties": properties}
    (target / "sam.json").write_text(json.dumps({"Resources": {"APIHandler": function}}))


def _this_python() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_the_zip_gets_unchecked_hash_bytecode_for_each_module(tmp_path: Path) -> None:
    target = tmp_path / "build" / "shop"
    _chalice_output(target, _this_python())
    chalice_zip = (target / "deployment.zip").read_bytes()

    package.add_bytecode(target, tmp_path / "cache")

    with zipfile.ZipFile(target / "deployment.zip") as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        header = archive.read(_pyc("chalicelib/shop/usecases.py"))[:8]
    sources = [name for name in names if name.endswith(".py")]
    compiled = [name for name in sources if name != "lib-only-for-python2.py"]
    assert sorted(name for name in names if name.endswith(".pyc")) == sorted(map(_pyc, compiled))
    assert _pyc("app.py") == f"__pycache__/app.{sys.implementation.cache_tag}.pyc"
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}

    task = _unpack(target / "deployment.zip", tmp_path / "task")
    found = _import_app(task)
    assert found["modules"] == ["app", "chalicelib", "chalicelib.shop", "chalicelib.shop.usecases"]
    assert found["compiled"] == []
    # The probe does see compiling: Chalice's zip, without bytecode, compiles every module.
    (tmp_path / "chalice.zip").write_bytes(chalice_zip)
    found = _import_app(_unpack(tmp_path / "chalice.zip", tmp_path / "task-from-chalice"))
    assert len(found["compiled"]) == 4


def test_the_same_chalice_zip_gives_the_same_bytes_and_is_compiled_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = []
    for run in ("first", "second"):  # each with a cache of its own: both compile
        target = tmp_path / run
        _chalice_output(target, _this_python())
        package.add_bytecode(target, tmp_path / run / "cache")
        built.append((target / "deployment.zip").read_bytes())
    assert built[0] == built[1]

    def no_compiling(jobs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(package, "_compile", no_compiling)
    _chalice_output(tmp_path / "first", _this_python())
    package.add_bytecode(tmp_path / "first", tmp_path / "first" / "cache")
    assert (tmp_path / "first" / "deployment.zip").read_bytes() == built[0]
    assert len(list((tmp_path / "first" / "cache").iterdir())) == 1


def test_bytecode_for_another_python_than_the_lambda_runtime_fails_the_build(
    tmp_path: Path,
) -> None:
    _chalice_output(tmp_path, "python3.9")
    with pytest.raises(RuntimeError, match=f"APIHandler runs python3.9, not {_this_python()}"):
        package.add_bytecode(tmp_path, tmp_path / "cache")


BUILD = Path(__file__).resolve().parents[2] / "build"


def _lambda_runtime(runtime: Path) -> Path:
    """A folder with the boto3 Lambda's Python runtime comes with."""
    import boto3
    import s3transfer

    runtime.mkdir()
    for module in (boto3, s3transfer):
        (runtime / module.__name__).symlink_to(Path(str(module.__file__)).parent)
    return runtime


@pytest.mark.parametrize("service", package.SERVICES)
def test_the_built_package_imports_with_only_what_lambda_provides(
    service: str, tmp_path: Path
) -> None:
    """The zip `make package` built, alone on the path with the stdlib and the runtime's boto3."""
    artifact = BUILD / service / "deployment.zip"
    if not artifact.exists():
        pytest.skip("run `make package` first")
    task = _unpack(artifact, tmp_path / "task")
    runtime = _lambda_runtime(tmp_path / "runtime")
    script = (
        "import sys\n"
        f"sys.path[:0] = {[str(task), str(runtime)]!r}\n"
        "import app\n"
        "print(sorted(source.name for source in app.app.event_sources))\n"
    )
    # -S: no site-packages, so nothing from the venv leaks in but the runtime's boto3.
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=task,
        env=LAMBDA_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("service", package.SERVICES)
def test_the_built_package_imports_from_its_bytecode(service: str, tmp_path: Path) -> None:
    """Each .py in the zip `make package` built has its .pyc, and importing the app uses them."""
    artifact = BUILD / service / "deployment.zip"
    if not artifact.exists():
        pytest.skip("run `make package` first")
    with zipfile.ZipFile(artifact) as archive:
        names = set(archive.namelist())
    sources = {name for name in names if name.endswith(".py")}
    assert {"app.py", f"chalicelib/{service}/__init__.py"} <= sources
    assert "chalicelib/route_table.json" in names  # the API handler's lazy route modules
    assert sorted(source for source in sources if _pyc(source) not in names) == []

    found = _import_app(_unpack(artifact, tmp_path / "task"), _lambda_runtime(tmp_path / "rt"))
    assert {"app", "chalice.app", "clientela", "aws_lambda_powertools"} <= set(found["modules"])
    if service == "customers":
        assert "chalicelib.customers.profiles.usecases" in found["modules"]
    assert found["compiled"] == []


@pytest.mark.parametrize("service", package.SERVICES)
def test_every_function_of_the_built_package_finds_its_handler(
    service: str, tmp_path: Path
) -> None:
    """Lambda starts a function by importing `app` with `_HANDLER=app.<name>` and reading that
    name: each function of sam.json, from the zip, loads with what Lambda provides, and so
    does the code each handler imports with its first call."""
    built = BUILD / service
    if not (built / "deployment.zip").exists():
        pytest.skip("run `make package` first")
    template = json.loads((built / "sam.json").read_text(encoding="utf-8"))
    handlers = sorted(
        resource["Properties"]["Handler"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    )
    assert "app.app" in handlers
    task = _unpack(built / "deployment.zip", tmp_path / "task")
    path = [str(task), str(_lambda_runtime(tmp_path / "runtime"))]
    script = (
        "import importlib, sys\n"
        f"sys.path[:0] = {path!r}\n"
        "module, _, name = sys.argv[1].rpartition('.')\n"
        "app = importlib.import_module(module)\n"
        "assert callable(getattr(app, name)), sys.argv[1]\n"
        # Each handler's code loads with its first call: the API handler's interpreter loads
        # every one now, from the zip (clientela.functions.on_first_call).
        "if name == 'app':\n"
        "    from clientela import functions\n"
        "    for value in list(vars(app).values()):\n"
        "        functions.load_now(value)\n"
    )
    children = [
        subprocess.Popen(  # one interpreter per function, as Lambda runs them
            [sys.executable, "-S", "-c", script, handler],
            cwd=task,
            env={**LAMBDA_ENV, "_HANDLER": handler, "PYTHONDONTWRITEBYTECODE": "1"},
            stderr=subprocess.PIPE,
            text=True,
        )
        for handler in handlers
    ]
    errors = {h: c.communicate()[1][-1500:] for h, c in zip(handlers, children, strict=True)}
    failed = {h: errors[h] for h, c in zip(handlers, children, strict=True) if c.returncode}
    assert failed == {}
