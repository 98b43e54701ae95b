"""The whole of Clientela in one process: moto, the four apps, their event sources, a clock and
one HTTP front door.

    with LocalStack(port=0) as stack:
        requests.get(f"{stack.base_url}/health")
        stack.wait_idle()

Every start is a fresh moto server provisioned from the infra templates, so runs never share
state. moto keeps its state in process-wide globals, so a start resets moto for the whole
process: run one stack per process, and never in-process next to other moto users (tests start
it as a subprocess, see tests/e2e/conftest.py).

The environment variables that point boto3 at moto are set before the apps are imported
(module-level clients read them) and restored on stop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from chalice.app import ScheduledEventConfig

from clientela_local import environment
from clientela_local.apps import REPO_ROOT, LoadedApp, forget_aws_clients, load_apps
from clientela_local.clock import AdjustableTime, AppSchedule, Clock
from clientela_local.console import ConsoleFiles
from clientela_local.endpoints import local_routes
from clientela_local.executions import Executions
from clientela_local.gateway import GatewayServer
from clientela_local.gateway_responses import GatewayResponses
from clientela_local.lambda_context import function_name
from clientela_local.local_aws import LocalAwsServer
from clientela_local.pollers import Pollers
from clientela_local.polling import Target
from clientela_local.provision import provision
from clientela_local.routing import load_routes

log = logging.getLogger(__name__)

REGION = "us-east-1"


class LocalStack:
    def __init__(
        self,
        port: int = 0,
        *,
        region: str = REGION,
        root: Path = REPO_ROOT,
        clock_interval: float = 1.0,
    ) -> None:
        self.requested_port = port
        self.region = region
        self.root = root
        self.clock_interval = clock_interval
        self.apps: list[LoadedApp] = []
        self.account = ""
        self.time = AdjustableTime()
        self._saved_environment: environment.Values = {}
        self._moto: LocalAwsServer | None = None
        self._pollers: Pollers | None = None
        self._clock: Clock | None = None
        self._gateway: GatewayServer | None = None
        self._gateway_thread: threading.Thread | None = None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._gateway is not None, "the stack is not running"
        return f"http://127.0.0.1:{self._gateway.port}"

    @property
    def endpoint_url(self) -> str:
        """moto's address: what `AWS_ENDPOINT_URL` points at."""
        assert self._moto is not None, "the stack is not running"
        return self._moto.endpoint_url

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self._moto = LocalAwsServer()
        self._moto.start()
        self._point_aws_at_moto()
        # moto keeps its state in module globals, shared by every server in this process: a
        # stack started earlier in the same process would otherwise still be there.
        self._moto_api("reset", {})
        # Step Functions only runs state machines when told to (tasks call back on MOTO_PORT).
        self._moto_api("config", {"stepfunctions": {"execute_state_machine": True}})
        provision(self.endpoint_url, self.region)
        self.account = boto3.client("sts").get_caller_identity()["Account"]
        self.apps = load_apps(self.root)
        # Bound (not yet serving) before any thread starts: a busy port fails fast and clean.
        self._gateway = GatewayServer(
            self.requested_port,
            self.apps,
            load_routes(self.root / "infra" / "edge.yaml"),
            GatewayResponses.from_template(self.root / "infra" / "fragments" / "service-api.yaml"),
            local_routes(
                self.apps,
                wait_idle=self.wait_idle,
                advance_clock=self.advance_clock,
                clock_now=self.time,
                aws_endpoint=self.endpoint_url,
            ),
            console=ConsoleFiles(self.root / "console"),
            after_invoke=self._wake_pollers,
        )
        self._pollers = Pollers(
            self.apps, region=self.region, account=self.account, infra_dir=self.root / "infra"
        )
        self._pollers.start()
        self._clock = Clock(
            region=self.region,
            account=self.account,
            now=self.time,
            interval=self.clock_interval,
            app_schedules=self._app_schedules(),
        )
        self._clock.start()
        self._gateway_thread = threading.Thread(
            target=self._gateway.serve_forever, kwargs={"poll_interval": 0.2}, name="gateway"
        )
        self._gateway_thread.start()

    def stop(self) -> None:
        """Stops everything that started, newest first; safe to call more than once."""
        if self._gateway_thread is not None and self._gateway is not None:
            self._gateway.close()  # stops serve_forever, cuts idle connections, joins handlers
            self._gateway_thread.join()
        elif self._gateway is not None:
            self._gateway.server_close()  # bound but never served
        self._gateway = self._gateway_thread = None
        if self._clock is not None:
            self._clock.stop()
            self._clock = None
        if self._pollers is not None:
            self._pollers.stop()
            self._pollers = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._restore_environment()
        forget_aws_clients()

    def _wake_pollers(self) -> None:
        if self._pollers is not None:
            self._pollers.activity.bump()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Waits until queues and streams are drained, no handler runs (see Pollers) and every
        Step Functions execution waits on a task token or has ended (see Executions)."""
        assert self._pollers is not None, "the stack is not running"
        deadline = time.monotonic() + timeout
        executions = Executions()
        while True:
            self._pollers.wait_idle(max(deadline - time.monotonic(), 0.1))
            moving = executions.moving()
            if not moving:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"executions still moving after {timeout}s: {moving[:5]}")
            time.sleep(0.05)  # an execution's thread is between two tasks

    def advance_clock(self, delta: timedelta) -> list[str]:
        """Moves the stack's time forward and fires whatever schedules came due."""
        assert self._clock is not None, "the stack is not running"
        self.time.advance(delta)
        return self._clock.tick()

    def _point_aws_at_moto(self) -> None:
        assert self._moto is not None
        values = environment.moto_environment(self._moto.endpoint_url, self._moto.port, self.region)
        values.update(environment.local_defaults())
        self._saved_environment = environment.apply(values)

    def _restore_environment(self) -> None:
        environment.restore(self._saved_environment)
        self._saved_environment = {}

    def _moto_api(self, action: str, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 - a fixed http:// URL on this machine
            f"{self.endpoint_url}/moto-api/{action}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def _app_schedules(self) -> list[AppSchedule]:
        """`@app.schedule` handlers: on AWS a rule per handler; here the clock calls them."""
        found = []
        for loaded in self.apps:
            for source in loaded.app.event_sources:
                if not isinstance(source, ScheduledEventConfig):
                    continue
                handler = source.handler_string.rsplit(".", 1)[-1]
                expression = source.schedule_expression
                if not isinstance(expression, str):
                    expression = expression.to_string()
                rule = function_name(loaded.app.app_name, handler)
                target = Target(loaded, handler, self.region, self.account)
                found.append(
                    AppSchedule(
                        f"arn:aws:events:{self.region}:{self.account}:rule/{rule}",
                        expression,
                        target.invoke,
                    )
                )
        return found
