"""End-to-end tests drive the whole local stack over real HTTP, as a user would.

One stack per test session: `python -m clientela_local` in a subprocess, shared by every e2e
test. Every test in tests/e2e is marked `e2e` and put in the xdist group "e2e", so under
`pytest -n N --dist loadgroup` they all run on one worker and only one stack starts. Tests
isolate themselves by store (the `store_id` fixture), as tenants do in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import RunningStack, require_xdist_group, running_stack


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(autouse=True)
def _in_its_group(request: pytest.FixtureRequest) -> None:
    require_xdist_group(request, "e2e")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("local-stack")) as running:
        yield running
