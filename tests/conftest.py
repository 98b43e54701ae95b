"""Fixtures shared by every layer of tests.

Service tests run each Chalice app in-process against a moto server provisioned from the same
infra templates as AWS (one server per pytest worker). Tests isolate themselves by store: each
test gets a store id of its own, exactly as tenants are isolated in production.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from clientela import auth
from clientela_local.environment import in_process

# No deadline: on a loaded machine (two pytest workers, moto servers) one slow example is not a
# failure, and a verdict must not depend on timing. CI explores the same generated inputs every
# run, so its verdict is reproducible; a developer's run explores new ones (and
# CLIENTELA_FUZZ_EXAMPLES=400 explores more of them).
settings.register_profile("untimed", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("untimed"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "untimed")

TEST_ENV = in_process()


@contextlib.contextmanager
def running_moto() -> Iterator[tuple[str, int]]:
    """A local AWS server on a free loopback port: (endpoint URL, port). Stopped on exit."""
    from clientela_local.local_aws import local_aws

    with local_aws() as server:
        yield server.endpoint_url, server.port


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server with every Clientela resource, as `make run` provisions it."""
    from clientela_local.provision import provision

    saved = {name: os.environ.get(name) for name in [*TEST_ENV, "AWS_ENDPOINT_URL", "MOTO_PORT"]}
    with running_moto() as (endpoint, port):
        os.environ.update(TEST_ENV, AWS_ENDPOINT_URL=endpoint, MOTO_PORT=str(port))
        from clientela import aws

        aws.reset()
        # Step Functions executes state machines (as in the local stack); moto keeps those made
        # after the switch apart, so it comes before provisioning.
        _moto_config(endpoint, {"stepfunctions": {"execute_state_machine": True}})
        provision(endpoint)
        yield endpoint
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _moto_config(endpoint: str, config: dict[str, Any]) -> None:
    import json
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - moto on this machine
        f"{endpoint}/moto-api/config",
        data=json.dumps(config).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


@pytest.fixture(scope="session")
def apps(moto_endpoint: str) -> dict[str, Any]:
    """The four service apps, loaded once per worker (module name `clientela_<svc>_app`)."""
    from clientela_local.apps import load_apps

    return {loaded.service: loaded.module for loaded in load_apps()}


@pytest.fixture
def store_id() -> str:
    return f"store-{uuid.uuid4().hex[:12]}"


def token_for(store_id: str, scopes: tuple[str, ...] = auth.ALL_SCOPES, ttl: int = 600) -> str:
    return auth.issue_token(store_id, scopes, auth.LOCAL_DEVELOPMENT_KEY, ttl_seconds=ttl)


@pytest.fixture
def headers(store_id: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token_for(store_id)}", "content-type": "application/json"}
