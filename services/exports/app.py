"""Exports service: HTTP routes and event handlers (only its health check so far)."""

from __future__ import annotations

from chalice.app import Chalice
from pydantic import BaseModel

from clientela.api import Call, Reply, Service
from clientela.observability import install, observability

app = Chalice(app_name="clientela-exports")
obs = observability("exports")
install(app, obs)
service = Service(app, "exports", obs)


class Health(BaseModel):
    status: str
    service: str


@service.route("/health/exports", "GET", summary="Health check", response=Health, auth=False)
def health(_call: Call) -> Reply:
    return Reply(200, Health(status="ok", service="exports"))
