"""Automation service: HTTP routes and event handlers (only its health check so far)."""

from __future__ import annotations

from chalice.app import Chalice

from clientela.api import Service
from clientela.observability import install, observability

app = Chalice(app_name="clientela-automation")
obs = observability("automation")
install(app, obs)
service = Service(app, "automation", obs)
token_authorizer = service.authorizer  # Lambda's handler for it is `app.token_authorizer`
