"""Fixtures for the local stack's own parts: a bare moto server (no provisioning) and fake apps.

moto keeps its state in module globals, shared by every moto server in the process, including
the provisioned one other test layers use in the same pytest worker. So nothing here resets
moto: each test works in an AWS account of its own (`MOTO_ACCOUNT_ID`), and the environment is
put back after each module.
"""

from __future__ import annotations

import random
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from chalice.app import Chalice
from chalice.config import Config

from clientela_local import environment
from clientela_local.apps import LoadedApp
from clientela_local.pollers import Pollers
from tests.conftest import running_moto

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    with running_moto() as (endpoint, port):
        saved = environment.apply(environment.moto_environment(endpoint, port, REGION))
        yield endpoint
        environment.restore(saved)


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The module's moto server, seen through an account no other test uses."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", f"{random.randrange(10**11, 10**12)}")
    return moto_server


def loaded_app(app: Chalice, *handlers: object, service: str = "svc") -> LoadedApp:
    """A Chalice app defined in a test, packaged the way `load_apps` packages a real one."""
    module = types.ModuleType(f"clientela_test_{service}_app")
    module.app = app  # type: ignore[attr-defined]
    for handler in handlers:
        setattr(module, handler.func.__name__, handler)  # type: ignore[attr-defined]
    return LoadedApp(service, module, app, Config())


@contextmanager
def running(*apps: LoadedApp, infra_dir: Path) -> Iterator[Pollers]:
    """Pollers for `apps`, tuned for tests: no long polls, short intervals."""
    pollers = Pollers(
        apps,
        region=REGION,
        account=ACCOUNT,
        infra_dir=infra_dir,
        interval=0.02,
        sqs_wait_seconds=0,
    )
    pollers.start()
    try:
        yield pollers
    finally:
        pollers.stop()
