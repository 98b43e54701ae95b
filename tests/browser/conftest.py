"""Browser tests: the admin console in Debian's Chromium, driven by Playwright, over a running
local stack, as a store owner uses it.

These tests have a stack of their own (xdist group "browser"), so under `pytest -n 2` they run
beside the e2e tests instead of after them. Each test signs in to a store of its own through the
same link `make run` prints, and creates what it needs through the public API first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from clientela_local.console import console_link
from tests.stack import RunningStack, require_xdist_group, running_stack

CHROMIUM = os.environ.get("CLIENTELA_CHROMIUM", "/usr/bin/chromium")
# What ../shared/notes/browser.md measured: without the background-networking flags Chromium
# keeps trying hosts it cannot reach; --no-sandbox is needed as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# `make screenshots` sets CLIENTELA_SCREENSHOTS=1: the README's pictures are rewritten from
# the tests; any other run keeps them in the test's temporary directory.
README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# Playwright waits for what a test expects (text, a row) up to this long; a loaded CI machine
# running two workers and two stacks is slower than a laptop.
EXPECT_TIMEOUT_MS = 15_000


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True)
def _in_its_group(request: pytest.FixtureRequest) -> None:
    require_xdist_group(request, "browser")


@pytest.fixture(scope="session")
def console_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("console-stack")) as running:
        yield running


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `make browser` installs Debian's (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Owner:
    """A store's owner: the API as the store (to set up what a story needs) and the console."""

    stack: RunningStack
    store: str
    page: Page
    shots: Path

    @property
    def headers(self) -> dict[str, str]:
        return self.stack.headers(self.store)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.stack.base_url}{path}", headers=headers, timeout=60, **kwargs
        )

    def create_customer(self, **fields: Any) -> dict[str, Any]:
        response = self.api("POST", "/customers", json=fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def open(self, route: str = "/customers") -> Page:
        """Signs in through the console link and opens a screen (a route like /customers/c-1)."""
        self.page.goto(console_link(self.stack.base_url, self.store))
        self.page.wait_for_function("() => !location.hash.startsWith('#token=')")
        if route != "/customers":
            self.page.evaluate("route => { location.hash = route }", route)
        return self.page

    def axe_violations(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        results = Axe().run(self.page)
        violations: list[dict[str, Any]] = results.response["violations"]
        return [v for v in violations if v.get("impact") in {"serious", "critical"}]

    def screenshot(self, name: str) -> None:
        """Saves the page as it is now (for the README: docs/images/<name>.png)."""
        folder = README_IMAGES if os.environ.get("CLIENTELA_SCREENSHOTS") == "1" else self.shots
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def new_context(browser: Browser, locale: str = "en-US") -> BrowserContext:
    context = browser.new_context(
        locale=locale, viewport={"width": 1280, "height": 800}, timezone_id="America/Sao_Paulo"
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    return context


@pytest.fixture
def owner(console_stack: RunningStack, chromium: Browser, tmp_path: Path) -> Iterator[Owner]:
    context = new_context(chromium)
    page = context.new_page()
    try:
        yield Owner(console_stack, f"web-{uuid.uuid4().hex[:12]}", page, tmp_path)
    finally:
        context.close()


# `set_default_timeout` above covers actions only; `expect(...)` has its own default (5 s),
# which a loaded machine overruns while the stack works (a bulk job, an export's chain).
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=EXPECT_TIMEOUT_MS)
