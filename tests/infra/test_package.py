"""The packaging steps that need neither PyPI nor Chalice (`make package` runs the rest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clientela_local import package


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


BUILD = Path(__file__).resolve().parents[2] / "build"


@pytest.mark.parametrize("service", package.SERVICES)
def test_the_built_package_imports_with_only_what_lambda_provides(
    service: str, tmp_path: Path
) -> None:
    """The zip `make package` built, alone on the path with the stdlib and the runtime's boto3."""
    import subprocess
    import sys
    import zipfile

    import boto3
    import s3transfer

    artifact = BUILD / service / "deployment.zip"
    if not artifact.exists():
        pytest.skip("run `make package` first")
    task = tmp_path / "task"
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(task)
    runtime = tmp_path / "runtime"  # the boto3 Lambda's Python runtime comes with
    runtime.mkdir()
    for module in (boto3, s3transfer):
        (runtime / module.__name__).symlink_to(Path(str(module.__file__)).parent)
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
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
