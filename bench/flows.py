"""Flows: what one abandoned-cart run costs, and a burst of cart events through the real start
path (`python -m bench --only flows`).

In-process against a moto server provisioned like AWS, with Step Functions executing (as the
local stack does), the automation app's handlers called with real SQS batches (bench/flowsdriver.py)
and time moved by firing the timers, never by sleeping.

- Per run of the built-in abandoned-cart flow (cart.updated -> 4 h -> reminder -> 1 day ->
  second reminder), averaged over `runs` customers: state transitions (states entered, from the
  executions' histories: what Step Functions bills), Lambda invocations (handler calls: the
  flow-events queue, the steps queue, the timer schedule's share), DynamoDB requests, SES calls,
  Step Functions API calls, and our code's time per send decision (the step handler's wall
  time minus the time inside AWS calls, on moto, not Lambda).
- A burst of cart events, each delivered twice (a redelivery), through the bus, the rule, the
  queue and `on_flow_event`: runs started, executions started, duplicates (must be 0), and the
  AWS requests per delivery. moto is the bottleneck there, not our code: each request costs it
  ~10-100 ms on a shared machine (a thread, the GIL, and DynamoDB queries that sort the whole
  table), so 10,000 events (20,000 deliveries, ~200,000 requests) took hours. For the burst,
  (1) `StartExecution` is answered at the boto3 level (`SfnStarts`: a botocore `before-call`
  hook, the real client and parameters) with Step Functions' own rule for names (the same name
  and input: the same execution; the same name, another input: ExecutionAlreadyExists), so
  nothing of moto's execution list (which it scans on every start) is in the way; and (2)
  moto's DynamoDB runs under `bench.fastmoto.faster_moto()` (its own answers, without sorting
  the whole table per query). Every DynamoDB request (the conditional membership and run
  writes that make a redelivery start nothing), the bus, the rule and the queue stay moto's.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.text import heading, number, table
from clientela_local.environment import in_process

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
REGION = "us-east-1"
STORE = "bench-flows-store"
ENVIRONMENT = in_process(log_level="ERROR")
METERED = ("dynamodb", "stepfunctions", "ses", "sesv2", "sqs", "events")


@dataclass
class Calls:
    """AWS calls by `service:Operation`, DynamoDB requests by table, and the time spent inside
    the calls."""

    counts: Counter[str] = field(default_factory=Counter)
    tables: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    _started: dict[int, float] = field(default_factory=dict)

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        events = client.meta.events

        def table(params: dict[str, Any], **_: Any) -> None:
            names = {params.get("TableName")}
            for item in params.get("TransactItems", []):
                names |= {op.get("TableName") for op in item.values()}
            for name in names - {None}:
                self.tables[str(name)] += 1

        if service == "dynamodb":
            events.register("before-parameter-build.dynamodb.*", table)

        def before(context: dict[str, Any], **_: Any) -> None:
            self._started[id(context)] = time.perf_counter()

        def after(model: Any, context: dict[str, Any], **_: Any) -> None:
            self.counts[f"{service}:{model.name}"] += 1
            began = self._started.pop(id(context), None)
            if began is not None:
                self.seconds += time.perf_counter() - began

        events.register_first("before-call.*.*", before)
        events.register_last("after-call.*.*", after)

    def of(self, service: str) -> int:
        return sum(n for key, n in self.counts.items() if key.startswith(service + ":"))


@dataclass
class RunCost:
    runs: int
    transitions: float
    invocations: dict[str, float]
    messages: dict[str, float]
    dynamodb: float
    dynamodb_tables: dict[str, float]
    ses: float
    stepfunctions: float
    decision_ms: list[float]
    mails: int


@dataclass
class Burst:
    events: int
    deliveries: int
    runs_started: int
    executions: int
    duplicates: int
    seconds: float
    start_calls: int = 0
    requests_per_delivery: dict[str, float] = field(default_factory=dict)


class SfnStarts:
    """StartExecution answered at the boto3 level as Step Functions does for names: the same
    name and input is the same execution (no second one), the same name with another input is
    ExecutionAlreadyExists. Counts the executions and the calls."""

    def __init__(self) -> None:
        self.inputs: dict[str, str] = {}
        self.calls = 0

    def attach(self, client: Any) -> None:
        client.meta.events.register_first("before-call.sfn.StartExecution", self._start)

    def _start(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        self.calls += 1
        request = json.loads(params["body"])  # the serialised request, as it would be sent
        name, given = request["name"], request.get("input", "{}")
        arn = f"{request['stateMachineArn'].replace(':stateMachine:', ':execution:')}:{name}"
        known = self.inputs.setdefault(name, given)
        if known != given:
            error = {
                "Code": "ExecutionAlreadyExists",
                "Message": f"Execution Already Exists: '{arn}'",
            }
            return _Http(400), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return _Http(200), {"executionArn": arn, "startDate": datetime.now(UTC)}


@dataclass
class _Http:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


def _moto(endpoint: str, action: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - moto on this machine
        f"{endpoint}/moto-api/{action}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=30).close()  # noqa: S310


def _fresh(endpoint: str, *, execute: bool) -> Any:
    """An empty moto, provisioned, with the apps loaded afresh; the automation app's module."""
    from clientela import aws  # noqa: PLC0415
    from clientela_local.apps import load_apps  # noqa: PLC0415
    from clientela_local.provision import provision  # noqa: PLC0415

    _moto(endpoint, "reset", {})
    # Before provisioning: moto keeps executing state machines apart (see provision.py).
    _moto(endpoint, "config", {"stepfunctions": {"execute_state_machine": execute}})
    aws.reset()
    provision(endpoint)
    apps = {loaded.service: loaded for loaded in load_apps()}
    return apps["automation"]


def _contact(store_id: str, n: int) -> tuple[str, str]:
    from chalicelib.automation.contacts import usecases as contacts  # noqa: PLC0415
    from clientela_events.customers import ConsentV1, CustomerV1  # noqa: PLC0415

    customer_id = f"bench-{n:06d}"
    email = f"bench-{n:06d}@example.com"
    contacts.keep_profile(
        store_id,
        CustomerV1(
            id=customer_id,
            email=email,
            first_name="Ana",
            country="BR",
            email_consent=ConsentV1(state="subscribed", updated_at=T0),
            created_at=T0,
            updated_at=T0,
            version=1,
        ),
    )
    return customer_id, email


def _cart(customer_id: str, at: datetime) -> Any:
    from clientela_events.storefront import CartUpdatedV1  # noqa: PLC0415

    return CartUpdatedV1(
        customer_id=customer_id,
        product_id="P-1",
        sku="SKU-1",
        name="Camiseta Azul",
        quantity=1,
        price=Decimal("79.90"),
        currency="BRL",
        at=at,
    )


def _activate(module: Any, store_id: str) -> None:
    from chalice.test import Client  # noqa: PLC0415

    from clientela import auth  # noqa: PLC0415

    token = auth.issue_token(store_id, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY, 600)
    with Client(module.app) as client:
        answer = client.http.post(
            "/flows/templates/abandoned_cart", headers={"authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 201, answer.body


def _metered(calls: Calls) -> None:
    from clientela import aws  # noqa: PLC0415

    for service in METERED:
        calls.attach(aws.client(service))


def measure_runs(endpoint: str, runs: int) -> RunCost:
    from bench.flowsdriver import FlowsDriver  # noqa: PLC0415

    loaded = _fresh(endpoint, execute=True)
    module = loaded.module
    _activate(module, STORE)
    customers = [_contact(STORE, n) for n in range(runs)]
    calls = Calls()
    _metered(calls)
    driver = FlowsDriver(module, STORE)
    decision_ms: list[float] = []
    original = module.on_flow_step

    def timed_step(event: dict[str, Any], context: Any) -> Any:
        ses_before, aws_before = calls.of("ses") + calls.of("sesv2"), calls.seconds
        began = time.perf_counter()
        result = original(event, context)
        wall = time.perf_counter() - began
        sends = calls.of("ses") + calls.of("sesv2") - ses_before
        if sends:  # the batch's own time, shared by the sends it held
            per_send = (wall - (calls.seconds - aws_before)) * 1000 / sends
            decision_ms.extend([per_send] * sends)
        return result

    module.on_flow_step = timed_step
    try:
        for customer_id, _ in customers:
            driver.publish("cart.updated", _cart(customer_id, T0), T0)
        driver.settle()
        driver.fire_timers(T0 + timedelta(hours=4, minutes=1))
        driver.fire_timers(T0 + timedelta(days=1, hours=4, minutes=2))
    finally:
        module.on_flow_step = original
    transitions = _transitions()
    mails = _sent_mail_count()
    return RunCost(
        runs=runs,
        transitions=transitions / runs,
        invocations={name: n / runs for name, n in sorted(driver.invocations.items())},
        messages={name: n / runs for name, n in sorted(driver.records.items())},
        dynamodb=calls.of("dynamodb") / runs,
        dynamodb_tables={name: n / runs for name, n in sorted(calls.tables.items())},
        ses=(calls.of("ses") + calls.of("sesv2")) / runs,
        stepfunctions=calls.of("stepfunctions") / runs,
        decision_ms=decision_ms,
        mails=mails,
    )


def _execution_count() -> int:
    """Executions moto holds, over every state machine (the fan-out bench counts its starts)."""
    import boto3  # noqa: PLC0415

    sfn = boto3.client("stepfunctions", region_name=REGION)
    total = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine["stateMachineArn"]
        ):
            total += len(page["executions"])
    return total


def _transitions() -> int:
    import boto3  # noqa: PLC0415

    sfn = boto3.client("stepfunctions", region_name=REGION)
    total = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine["stateMachineArn"]
        )
        for page in pages:
            for execution in page["executions"]:
                history = sfn.get_paginator("get_execution_history").paginate(
                    executionArn=execution["executionArn"]
                )
                total += sum(
                    1
                    for events in history
                    for event in events["events"]
                    if event["type"].endswith("StateEntered")
                )
    return total


def _sent_mail_count() -> int:
    from moto.ses.models import ses_backends  # noqa: PLC0415

    from bench.flowsdriver import DEFAULT_ACCOUNT_ID  # noqa: PLC0415

    return len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def measure_burst(endpoint: str, events: int) -> Burst:
    """Each cart event of `events` customers goes on the bus twice (a redelivery: same event
    id); the flow-events queue is drained into on_flow_event as Lambda would."""
    from bench.fastmoto import faster_moto  # noqa: PLC0415
    from bench.flowsdriver import FlowsDriver  # noqa: PLC0415
    from clientela import aws  # noqa: PLC0415

    loaded = _fresh(endpoint, execute=False)
    store_id = f"{STORE}-burst"
    _activate(loaded.module, store_id)
    driver = FlowsDriver(loaded.module, store_id)
    starts, calls = SfnStarts(), Calls()
    starts.attach(aws.client("stepfunctions"))
    _metered(calls)
    began = time.perf_counter()
    ids = [uuid.uuid4() for _ in range(events)]
    from clientela.events import OutgoingEvent, publish  # noqa: PLC0415

    with faster_moto():
        for _delivery in range(2):
            batch: list[OutgoingEvent] = []
            for n, event_id in enumerate(ids):
                data = _cart(f"burst-{n:06d}", T0)
                batch.append(OutgoingEvent("cart.updated", 1, event_id, store_id, T0, data))
                if len(batch) == 10:
                    assert publish(batch) == []
                    batch = []
                    if n % 500 == 499:  # Lambda drains the queue as it fills
                        driver.drain_events()
            if batch:
                assert publish(batch) == []
            driver.drain_events()
        seconds = time.perf_counter() - began
        runs_started = _entered(store_id)
    executions = len(starts.inputs)
    per_delivery = {
        service: round(calls.of(service) / (2 * events), 2)
        for service in ("dynamodb", "sqs", "events", "stepfunctions")
    }
    return Burst(
        events=events,
        deliveries=2 * events,
        runs_started=runs_started,
        executions=executions,
        duplicates=executions - events,
        seconds=seconds,
        start_calls=starts.calls,
        requests_per_delivery=per_delivery,
    )


def _entered(store_id: str) -> int:
    from chalicelib.automation.flows import usecases as flows  # noqa: PLC0415
    from chalicelib.automation.stats import usecases as stats  # noqa: PLC0415

    total = 0
    for flow in flows.list_flows(store_id):
        counts = stats.counts(store_id, flow.flow_id).get(None)
        total += counts.counters["entered"] if counts is not None else 0
    return total


def run(runs: int = 20, burst: int = 2000) -> tuple[RunCost, Burst]:
    from clientela_local.local_aws import local_aws  # noqa: PLC0415

    saved = {name: os.environ.get(name) for name in [*ENVIRONMENT, "AWS_ENDPOINT_URL", "MOTO_PORT"]}
    try:
        with local_aws() as server:
            os.environ.update(
                ENVIRONMENT, AWS_ENDPOINT_URL=server.endpoint_url, MOTO_PORT=str(server.port)
            )
            cost = measure_runs(server.endpoint_url, runs)
            burst_result = measure_burst(server.endpoint_url, burst)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return cost, burst_result


def as_json(found: tuple[RunCost, Burst]) -> dict[str, Any]:
    cost, burst = found
    return {"per_run": cost.__dict__, "burst": burst.__dict__}


def render(found: tuple[RunCost, Burst]) -> str:
    cost, burst = found
    decisions = sorted(cost.decision_ms)
    median = decisions[len(decisions) // 2] if decisions else 0.0
    worst = decisions[-1] if decisions else 0.0
    rows = [
        ["state transitions (states entered)", number(cost.transitions, 1)],
        *[[f"invocations (batches): {name}", number(n, 2)] for name, n in cost.invocations.items()],
        *[[f"messages handled: {name}", number(n, 2)] for name, n in cost.messages.items()],
        ["DynamoDB requests", number(cost.dynamodb, 1)],
        *[[f"  on {name}", number(n, 1)] for name, n in cost.dynamodb_tables.items()],
        ["SES calls", number(cost.ses, 1)],
        ["Step Functions API calls", number(cost.stepfunctions, 1)],
        ["our code per send decision, median ms", number(median, 1)],
        ["our code per send decision, slowest ms", number(worst, 1)],
        ["mails in SES (all runs)", str(cost.mails)],
    ]
    burst_rows = [
        ["cart events (customers)", str(burst.events)],
        ["deliveries (each twice)", str(burst.deliveries)],
        ["runs started", str(burst.runs_started)],
        ["executions started", str(burst.executions)],
        ["duplicates", str(burst.duplicates)],
        ["StartExecution calls (answered at the boto3 level)", str(burst.start_calls)],
        *[
            [f"{service} requests per delivery", number(n, 2)]
            for service, n in burst.requests_per_delivery.items()
        ],
        ["seconds on moto", number(burst.seconds, 1)],
    ]
    return "\n".join(
        [
            heading(f"Flows: one abandoned-cart run (average of {cost.runs} runs)"),
            table(["per run", "value"], rows),
            heading("Flows: a burst of cart events through the start path"),
            table(["burst", "value"], burst_rows),
        ]
    )
