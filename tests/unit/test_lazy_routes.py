"""The API handler's function imports a route module on the first request of one of its routes
(clientela.api.Service.routes, with the route table `make package` writes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from chalice.app import Chalice
from chalice.test import Client

from clientela.api import Service
from clientela.functions import ROUTE_TABLE_ENV
from clientela.observability import observability

PROBE = "tests.unit.lazy_route_probe"


def _service(name: str) -> Service:
    return Service(Chalice(app_name=f"lazy-routes-{name}"), "probe", observability("probe"))


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """The table of an app that imported the module (off Lambda), as `make package` does."""
    eager = _service("eager")
    eager.routes([PROBE])
    written = tmp_path / "route_table.json"
    written.write_text(json.dumps(eager.route_table()), encoding="utf-8")
    assert {(e["path"], e["method"], e["module"]) for e in eager.route_table()} == {
        ("/probe/things/{thing}", "GET", PROBE),
        ("/probe/things", "POST", PROBE),
    }
    sys.modules.pop(PROBE)
    return written


def test_off_lambda_every_route_module_is_imported_and_documented() -> None:
    service = _service("off-lambda")
    service.routes([PROBE])
    assert PROBE in sys.modules
    assert {doc.operation_id for doc in service.docs} == {"health", "get_thing", "make_thing"}


def test_on_lambda_a_route_module_loads_on_the_first_request_of_its_routes(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_HANDLER", "app.app")
    monkeypatch.setenv(ROUTE_TABLE_ENV, str(table))
    service = _service("lazy")
    service.routes([PROBE])
    assert PROBE not in sys.modules
    assert service.app.routes["/probe/things"]["POST"].content_types == [
        "application/json",
        "application/merge-patch+json",
    ]

    with Client(service.app) as client:
        first = client.http.get("/probe/things/ab?twice=true")
        assert (first.status_code, first.json_body) == (200, {"thing": "abab"})
        assert PROBE in sys.modules
        # The module's other route is now its own, validation included.
        refused = client.http.post(
            "/probe/things",
            body=json.dumps({"name": ""}),
            headers={"Content-Type": "application/json"},
        )
        made = client.http.post(
            "/probe/things",
            body=json.dumps({"name": "chair"}),
            headers={"Content-Type": "application/json"},
        )
        unknown = client.http.get("/probe/things/ab?colour=red")
    assert refused.status_code == 422
    assert refused.json_body["errors"][0]["field"] == "name"
    assert (made.status_code, made.json_body) == (201, {"thing": "chair"})
    assert unknown.status_code == 422
    assert service.app.routes["/probe/things"]["POST"].view_name == "make_thing"
    assert {doc.operation_id for doc in service.docs} == {"health", "get_thing", "make_thing"}


def test_a_function_other_than_the_api_handler_ignores_the_table(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_HANDLER", "app.on_something")
    monkeypatch.setenv(ROUTE_TABLE_ENV, str(table))
    service = _service("not-api")
    service.routes([PROBE])
    assert PROBE in sys.modules
    assert service.app.routes["/probe/things/{thing}"]["GET"].view_name == "get_thing"
