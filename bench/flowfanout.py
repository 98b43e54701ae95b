"""Scheduled flows: what one occurrence's fan-out over a store's contacts costs
(`python -m bench --only fanout`).

In-process against a moto server provisioned like AWS (bench/flows.py's set-up), executions
recorded but not run: a live flow scheduled `at` an instant, `contacts` subscribed contacts; the
every-minute tick fires it, and the steps queue is drained into `on_flow_step` as Lambda would,
every page message delivered twice (as SQS may). Per contact: DynamoDB requests by table, Step
Functions and SQS calls; per page: contacts read; the contacts index's partitions (16 per store:
the busiest one's share); runs started, executions, duplicates (must be 0).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench.text import heading, number, table

STORE = "bench-fanout-store"


@dataclass
class Fanout:
    contacts: int
    page: int
    pages: int
    invocations: int
    dynamodb_per_contact: dict[str, float]
    stepfunctions_per_contact: float
    sqs_calls: int
    busiest_shard_share: float
    runs_started: int
    executions: int
    duplicates: int
    seconds: float


def measure(endpoint: str, contacts: int) -> Fanout:
    from chalice.test import Client  # noqa: PLC0415

    from bench import flows  # noqa: PLC0415
    from bench.flowsdriver import FlowsDriver  # noqa: PLC0415
    from chalicelib.automation.contacts.rules import contact_shard  # noqa: PLC0415
    from chalicelib.automation.runs import usecases  # noqa: PLC0415
    from clientela import auth  # noqa: PLC0415

    loaded = flows._fresh(endpoint, execute=False)
    ids = [flows._contact(STORE, n)[0] for n in range(contacts)]
    at = flows.T0 + timedelta(days=3650)  # after the flow goes live, whatever the machine's date
    token = auth.issue_token(STORE, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY, 600)
    definition = {
        "trigger": {"type": "schedule", "schedule": {"at": at.isoformat()}},
        "steps": [{"id": "news", "type": "send_email", "template_id": "builtin-welcome"}],
    }
    with Client(loaded.module.app) as client:
        answer = client.http.post(
            "/flows",
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            body=json.dumps({"name": "Launch", "definition": definition, "state": "live"}),
        )
        assert answer.status_code == 201, answer.body
    queue = usecases._queue_fanout

    def twice(messages: list[dict[str, Any]]) -> None:
        queue(messages)
        queue(messages)

    usecases._queue_fanout = twice
    calls = flows.Calls()
    flows._metered(calls)
    driver = FlowsDriver(loaded.module, STORE)
    began = time.perf_counter()
    try:
        # The tick, then its pages; not `settle`: executions that are not run never settle.
        assert usecases.fire_flow_schedules(at) == 1
        while driver.drain_steps():
            pass
    finally:
        usecases._queue_fanout = queue
    seconds = time.perf_counter() - began
    executions = flows._execution_count()
    shards = Counter(contact_shard(customer_id) for customer_id in ids)
    return Fanout(
        contacts=contacts,
        page=usecases.FANOUT_PAGE,
        pages=driver.records.get("on_flow_step", 0),
        invocations=driver.invocations.get("on_flow_step", 0),
        dynamodb_per_contact={
            table_name: round(n / contacts, 2) for table_name, n in sorted(calls.tables.items())
        },
        stepfunctions_per_contact=round(calls.of("stepfunctions") / contacts, 2),
        sqs_calls=calls.of("sqs"),
        busiest_shard_share=round(max(shards.values()) / contacts, 3) if shards else 0.0,
        runs_started=flows._entered(STORE),
        executions=executions,
        duplicates=executions - contacts,
        seconds=seconds,
    )


def run(contacts: int = 400) -> Fanout:
    from bench import flows  # noqa: PLC0415
    from clientela_local.local_aws import local_aws  # noqa: PLC0415

    names = [*flows.ENVIRONMENT, "AWS_ENDPOINT_URL", "MOTO_PORT"]
    saved = {name: os.environ.get(name) for name in names}
    try:
        with local_aws() as server:
            os.environ.update(
                flows.ENVIRONMENT, AWS_ENDPOINT_URL=server.endpoint_url, MOTO_PORT=str(server.port)
            )
            return measure(server.endpoint_url, contacts)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def as_json(found: Fanout) -> dict[str, Any]:
    return found.__dict__


def render(found: Fanout) -> str:
    rows = [
        ["contacts (subscribed, all let in)", str(found.contacts)],
        ["contacts per page", str(found.page)],
        ["page messages handled (each delivered twice)", str(found.pages)],
        ["on_flow_step invocations (batches of up to 10)", str(found.invocations)],
        *[
            [f"DynamoDB requests per contact on {name}", number(n, 2)]
            for name, n in found.dynamodb_per_contact.items()
        ],
        ["Step Functions calls per contact", number(found.stepfunctions_per_contact, 2)],
        ["SQS calls (all)", str(found.sqs_calls)],
        [
            "busiest contacts-index partition's share (16 shards)",
            number(found.busiest_shard_share, 3),
        ],
        ["runs started", str(found.runs_started)],
        ["executions started", str(found.executions)],
        ["duplicates", str(found.duplicates)],
        ["seconds on moto", number(found.seconds, 1)],
    ]
    return "\n".join(
        [
            heading(f"Scheduled flows: one occurrence's fan-out over {found.contacts} contacts"),
            table(["per occurrence", "value"], rows),
        ]
    )
