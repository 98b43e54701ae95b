"""Whether Step Functions executions have settled: the local stack's `wait_idle` counts them as
work, like queues and streams.

moto runs each execution on a thread of its own: between a task's SendTaskSuccess and the next
task's message on a queue, no queue holds anything and no handler runs, yet the execution is
still moving. An execution has settled when it waits on a task token (its latest history event
is `TaskSubmitted`), or has ended.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

_SETTLED = "TaskSubmitted"


class Executions:
    def __init__(self) -> None:
        self._sfn: Any = boto3.client(
            "stepfunctions", config=Config(retries={"total_max_attempts": 1})
        )

    def moving(self, since: datetime | None = None) -> list[str]:
        """The names of running executions (started at `since` or later) that do not wait on a
        task token."""
        found = []
        for machines in self._sfn.get_paginator("list_state_machines").paginate():
            for machine in machines["stateMachines"]:
                pages = self._sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
                )
                for page in pages:
                    for execution in page["executions"]:
                        if since is not None and execution["startDate"] < since:
                            continue
                        if not self._waits_on_a_token(execution["executionArn"]):
                            found.append(execution["name"])
        return found

    def _waits_on_a_token(self, arn: str) -> bool:
        events: list[dict[str, Any]] = []
        for page in self._sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            events.extend(page["events"])
        if not events:
            return False
        return bool(max(events, key=lambda event: event["id"])["type"] == _SETTLED)
