"""Writes the API document, docs page and console for S3 (`python -m clientela_local.docs`).

On AWS, CloudFront serves `/openapi.json` and `/docs` from the docs bucket (infra/edge.yaml);
locally the gateway builds the same two from the same code.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from clientela.openapi import DOCS_PAGE, build_document
from clientela_local.apps import load_apps

CONSOLE = Path(__file__).resolve().parents[2] / "console"


def write_site(out: Path, apps: list[Any]) -> None:
    """`apps`: the services' Chalice apps. The console's files go under admin/ as they are."""
    document = build_document(apps)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    (out / "openapi.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    (out / "docs" / "index.html").write_text(DOCS_PAGE)
    shutil.rmtree(out / "admin", ignore_errors=True)
    shutil.copytree(CONSOLE, out / "admin")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/docs"))
    write_site(parser.parse_args(argv).out, [loaded.app for loaded in load_apps()])


if __name__ == "__main__":
    main()
