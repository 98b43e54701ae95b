"""The environment variables that point every AWS SDK in this process at moto, and only moto."""

from __future__ import annotations

import os

Values = dict[str, str | None]  # None: the variable must be unset


def moto_environment(endpoint_url: str, moto_port: int, region: str) -> Values:
    values: Values = {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # moto's Step Functions tasks call back to the server on this port.
        "MOTO_PORT": str(moto_port),
        # moto serves DynamoDB Streams on the plain endpoint, not an account-specific one.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        # Nothing from a developer's real AWS set-up may leak in: no profile, no session, no
        # per-service endpoint overriding the one above.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PROFILE": None,
        "AWS_SESSION_TOKEN": None,
        "AWS_SECURITY_TOKEN": None,
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None,
        # Unchanged here, but saved so `restore` undoes what every Chalice app import appends.
        "AWS_EXECUTION_ENV": os.environ.get("AWS_EXECUTION_ENV"),
    }
    values.update({name: None for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")})
    return values


def in_process(log_level: str = "WARNING") -> dict[str, str]:
    """What the tests and the benches set in their own process before they call the apps' code
    against a moto server (with its AWS_ENDPOINT_URL and MOTO_PORT): credentials moto accepts,
    DynamoDB Streams on the plain endpoint, and no X-Ray daemon or metric lines to send to."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": log_level,
    }


def local_defaults() -> Values:
    """Quiet settings for a terminal, unless the developer chose otherwise: there is no X-Ray
    daemon to trace to, metrics (EMF lines) would drown the request log, and the gateway already
    logs every request (`POWERTOOLS_LOG_LEVEL=INFO make run` shows the apps' own lines)."""
    defaults = {
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    return {name: value for name, value in defaults.items() if name not in os.environ}


def apply(values: Values) -> Values:
    """Sets `values` in os.environ; returns what to pass to `restore` to undo it."""
    saved: Values = {}
    for name, value in values.items():
        saved[name] = os.environ.get(name)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return saved


def restore(saved: Values) -> None:
    apply(saved)
