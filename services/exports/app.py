"""Exports service: HTTP routes and event handlers (only its health check so far)."""

from __future__ import annotations

from chalice.app import Chalice

from clientela.api import Service
from clientela.observability import install, observability

app = Chalice(app_name="clientela-exports")
obs = observability("exports")
install(app, obs)
service = Service(app, "exports", obs)
token_authorizer = service.authorizer  # Lambda's handler for it is `app.token_authorizer`
