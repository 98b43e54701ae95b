"""The automation service's configuration, validated once at start-up."""

from __future__ import annotations

import functools

from clientela.secrets import secret_value
from clientela.settings import EnvSettings


class AutomationSettings(EnvSettings):
    env_prefix = "AUTOMATION_"

    # Contacts, templates, sends, suppressions, threads (infra/automation.yaml MailTable).
    mail_table: str = "clientela-automation-mail"
    # Customer and order events the contacts read model follows (ContactEventsRule -> queue).
    contact_events_queue: str = "clientela-automation-contact-events"
    # SES bounce and complaint notifications (SNS-wrapped JSON, as SES publishes them).
    ses_events_queue: str = "clientela-automation-ses-events"
    # Replies: SES stores the raw MIME in this bucket and notifies this queue.
    inbound_bucket: str = "clientela-automation-inbound-123456789012-us-east-1"
    inbound_queue: str = "clientela-automation-inbound"
    # The verified SES identity mail goes out from, and the domain replies come back to.
    sender: str = "Clientela <mail@mail.clientela.example>"
    # SES configuration set whose events (bounces, complaints) reach ses_events_queue; none
    # locally (moto publishes no events: they are injected).
    configuration_set: str | None = None
    reply_domain: str = "reply.clientela.example"
    # Where the public links of an e-mail point (unsubscribe, pixel, click): the edge.
    public_base_url: str = "http://localhost:8000"
    # Signs unsubscribe, tracking and reply tokens (infra/automation.yaml LinkKeySecret).
    link_key_secret: str = "clientela/automation/link-key"  # noqa: S105 - a name, not a key
    # Bounds of a rendered e-mail: a template may not produce more, whatever its data.
    max_rendered_chars: int = 512 * 1024

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


def link_key() -> str:
    """The key the service's links and reply addresses are signed with (cached a few minutes)."""
    return secret_value(settings().link_key_secret)


@functools.cache
def settings() -> AutomationSettings:
    return AutomationSettings()
