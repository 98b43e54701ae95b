"""The automation service's configuration, validated once at start-up."""

from __future__ import annotations

import functools

from pydantic_settings import BaseSettings, SettingsConfigDict


class AutomationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTOMATION_", frozen=True)

    # Flows, their versions, runs, timers, per-customer flow state and stats
    # (infra/automation.yaml FlowsTable).
    flows_table: str = "clientela-automation-flows"
    # Bus events that trigger, resume or end runs (FlowEventsRule -> this queue).
    flow_events_queue: str = "clientela-automation-flow-events"
    # The state machine's step tasks (sqs:sendMessage.waitForTaskToken -> this queue).
    flow_steps_queue: str = "clientela-automation-flow-steps"
    # One execution per run (infra/automation.yaml RunsStateMachine).
    runs_state_machine: str = "clientela-automation-runs"
    # Its ARN (the template sets it on AWS); locally found by name.
    runs_state_machine_arn: str | None = None
    # Smart sending: at most one marketing e-mail per customer per this many hours, for a store
    # that never set its own (PUT /flows/settings).
    smart_sending_hours: int = 16
    # The store's time zone when it never set one and the customer's country says nothing.
    default_time_zone: str = "UTC"


@functools.cache
def settings() -> AutomationSettings:
    return AutomationSettings()
