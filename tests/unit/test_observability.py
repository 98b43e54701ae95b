"""Every request is counted in CloudWatch's embedded metric format, with no personal data."""

from __future__ import annotations

import json

import pytest
from chalice.app import Chalice
from chalice.test import Client

from clientela.observability import install, observability


def test_each_request_emits_one_status_class_metric(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    app = Chalice(app_name="metrics-probe")
    install(app, observability("probe"))

    @app.route("/ping")
    def ping() -> dict[str, str]:
        return {"ping": "pong"}

    with Client(app) as client:
        client.http.get("/ping", headers={"x-correlation-id": "corr-12345678"})

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(blobs) == 1
    assert blobs[0]["Http2xx"] == [1.0] or blobs[0]["Http2xx"] == 1.0
    assert blobs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Clientela"
