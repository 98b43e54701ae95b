"""The docs site `make package` writes for the S3 docs bucket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clientela_local.docs import write_site


def test_the_site_holds_the_merged_document_and_its_page(
    apps: dict[str, Any], tmp_path: Path
) -> None:
    write_site(tmp_path, [module.app for module in apps.values()])

    document = json.loads((tmp_path / "openapi.json").read_text())
    assert document["openapi"].startswith("3.1")
    assert {"/customers", "/customers/{customer_id}", "/wallets/{customer_id}"} <= set(
        document["paths"]
    )
    assert 'url: "/openapi.json"' in (tmp_path / "docs" / "index.html").read_text()
