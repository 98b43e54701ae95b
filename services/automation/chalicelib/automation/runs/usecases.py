"""Use cases of runs: start one per (flow, customer, trigger object), decide each step, park and
resume waits, follow the events that end or resume runs.

A run is one Step Functions execution (infra/automation.yaml RunsStateMachine) named by
`rules.run_id`, so starting it twice starts it once. The state machine only loops: it sends each
step to our queue with a task token (`Decide`, answered at once by `decide`), and parks the token
while the run waits (`Wait`: `park` stores it in a timer item; `fire_due_timers`, which the
scheduled rule runs every minute, or the awaited event resumes it with SendTaskSuccess). Every
decision is ours and is recorded once, so a redelivered task answers the same.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from chalicelib.automation.contacts import usecases as contacts
from chalicelib.automation.contacts.rules import CONTACT_SHARDS, Contact
from chalicelib.automation.flows import usecases as flows
from chalicelib.automation.flows.rules import Definition, Step
from chalicelib.automation.flows.store import Flow, FlowSettings
from chalicelib.automation.runs import rules
from chalicelib.automation.runs.rules import Customer
from chalicelib.automation.runs.store import (
    DUE_SHARDS,
    CartLine,
    FanoutJob,
    Run,
    RunStore,
    Timer,
)
from chalicelib.automation.sending import usecases as sending
from chalicelib.automation.sending.rules import Origin
from chalicelib.automation.settings import settings
from chalicelib.automation.stats import usecases as stats
from clientela import aws
from clientela.events import OutgoingEvent, publish
from clientela_events import flows as flow_events

logger = Logger(service="automation")

# Step Functions' answers for a token whose execution is gone (stopped, superseded, timed out).
_GONE = ("TaskDoesNotExist", "TaskTimedOut", "InvalidToken", "ExecutionDoesNotExist")


@functools.cache
def store() -> RunStore:
    return RunStore(aws.dynamodb(), settings().flows_table)


def _sfn() -> Any:
    return aws.client("stepfunctions")


@functools.cache
def state_machine_arn() -> str:
    configured = settings().runs_state_machine_arn
    if configured:
        return configured
    # Locally the template's !Ref does not reach the apps' environment: find it by name.
    for page in _sfn().get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == settings().runs_state_machine:
                return str(machine["stateMachineArn"])
    raise LookupError(f"no state machine {settings().runs_state_machine}")


def _execution_arn(run_id: str) -> str:
    return state_machine_arn().replace(":stateMachine:", ":execution:") + f":{run_id}"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# Starting ----------------------------------------------------------------------------------


def start_runs(
    store_id: str, event_type: str, customer_id: str, trigger_object: str, at: datetime
) -> dict[str, str]:
    """Every live flow this event triggers, for this customer: flow id -> what happened."""
    return {
        flow.flow_id: start_run(flow, customer_id, trigger_object, at)
        for flow in flows.live_flows_for(store_id, event_type)
    }


def start_segment_runs(
    store_id: str, segment_id: str, customer_id: str, entry: str, at: datetime
) -> dict[str, str]:
    """Every live flow triggered by entering this segment: the entry (one `segment.entered`)
    is the trigger object, so a redelivered entry starts nothing new and a later entry is
    judged by the flow's re-entry policy."""
    return {
        flow.flow_id: start_run(flow, customer_id, entry, at)
        for flow in flows.live_segment_flows(store_id, segment_id)
    }


def start_run(flow: Flow, customer_id: str, trigger_object: str, at: datetime) -> str:
    """Starts the run of (flow, customer, trigger object) unless it exists; a newer trigger of a
    superseding flow replaces the run in progress. Returns started, duplicate, superseded (the
    old one, by this), in_flow, or not_again (the re-entry policy)."""
    definition = flow.definition
    run_id = rules.run_id(flow.store_id, flow.flow_id, customer_id, trigger_object)
    current = store().membership(flow.store_id, customer_id, flow.flow_id)
    replacing = None
    if current is not None:
        if current.run_id == run_id:
            existing = store().get_run(flow.store_id, run_id)
            if existing is not None and existing.status == "active":
                _start_execution(existing, definition)  # a crash between enter and start
            return "duplicate"
        if current.active:
            if not (definition.supersede and at > current.trigger_at):
                return "in_flow"
        elif not rules.reentry_allows(
            definition.reentry.policy, definition.reentry.days, current.entered_at, at
        ):
            return "not_again"
        replacing = current.run_id
    run = Run(flow.store_id, run_id, flow.flow_id, flow.version, customer_id, at, "active")
    if not store().enter(run, trigger_at=at, replacing=replacing, trigger_object=trigger_object):
        return "duplicate"  # a concurrent delivery of the same trigger got there first
    stats.entered(flow.store_id, flow.flow_id)
    outcome = "started"
    if replacing is not None and current is not None and current.active:
        _supersede(flow.store_id, replacing)
        outcome = "superseded"
    _start_execution(run, definition)
    return outcome


def _start_execution(run: Run, definition: Definition) -> None:
    state = {
        "run": {
            "store_id": run.store_id,
            "run_id": run.run_id,
            "flow_id": run.flow_id,
            "version": run.version,
            "customer_id": run.customer_id,
        },
        "step": definition.steps[0].id,
        "seq": 0,
        "now": run.entered_at.isoformat(),
        "resume": "start",
    }
    try:
        # Same name, same input: Step Functions starts it once, whoever asks again.
        _sfn().start_execution(
            stateMachineArn=state_machine_arn(), name=run.run_id, input=json.dumps(state)
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise


def _supersede(store_id: str, old_run_id: str) -> None:
    """Ends the older run now rather than at its next step: no open execution left behind."""
    old = store().get_run(store_id, old_run_id)
    if old is None:
        return
    store().claim_timer(store_id, old_run_id)
    store().end(old, "superseded")
    try:
        _sfn().stop_execution(executionArn=_execution_arn(old_run_id), cause="superseded")
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _GONE:
            raise


# Leaving a segment -------------------------------------------------------------------------

SEGMENT_EXITED = "segment_exited"


def segment_exit_key(definition: Definition) -> str | None:
    """What `saw` files a customer's exit of the flow's trigger segment under (None: the flow
    is not triggered by a segment)."""
    trigger = definition.trigger
    if trigger.type != "segment" or not trigger.segment_id:
        return None
    return f"segment.exited#{trigger.segment_id}"


def end_segment_runs(
    store_id: str, segment_id: str, customer_id: str, at: datetime
) -> dict[str, str]:
    """The customer left the segment at `at`: each run of a flow it triggers that the customer
    entered before `at` ends now (as Klaviyo-class tools do: who no longer qualifies leaves the
    flow), its wait claimed and its execution stopped. The exit is filed first, so a run whose
    entry is delivered after this exit ends at its first decision, before anything is sent.
    An exit older than the run's entry (out of order) ends nothing; a redelivered one finds
    the run ended. Flow id -> ended, stale or not_in_flow."""
    store().saw(store_id, customer_id, f"segment.exited#{segment_id}", at)
    outcome = {}
    for flow in flows.segment_flows(store_id, segment_id):
        membership = store().membership(store_id, customer_id, flow.flow_id)
        run = None
        if membership is not None and membership.active:
            run = store().get_run(store_id, membership.run_id)
        if run is None or run.status != "active":
            outcome[flow.flow_id] = "not_in_flow"
        elif at <= run.entered_at:
            outcome[flow.flow_id] = "stale"  # a newer entry: this exit was of an earlier one
        else:
            outcome[flow.flow_id] = "ended" if _end_early(run, SEGMENT_EXITED) else "not_in_flow"
    return outcome


def _end_early(run: Run, reason: str) -> bool:
    """Ends an active run at once: its wait claimed and its execution stopped, so no open
    execution is left behind, then the run ended. Stopped before it is ended: if stopping
    fails, the run is still active and the redelivered exit tries again (a decision in flight
    already sees the exit, filed before). False if it had already ended."""
    store().claim_timer(run.store_id, run.run_id)
    try:
        _sfn().stop_execution(executionArn=_execution_arn(run.run_id), cause=reason)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _GONE:
            raise
    return _ended(run, reason)


def _ended(run: Run, reason: str) -> bool:
    """Ends the run if still active, counted once by reason in the flow's stats."""
    if not store().end_if_active(run, reason):
        return False
    stats.ended(run.store_id, run.flow_id, reason)
    return True


# Deciding ----------------------------------------------------------------------------------


def handle_task(message: dict[str, Any]) -> None:
    """One task of the state machine: decide a step (answer at once) or park a wait; or a page
    of a scheduled flow's fan-out (same queue: the runs' work)."""
    if message.get("kind") == "fanout":
        fan_out(message)
        return
    token = message["token"]
    state = message["state"]
    if message["kind"] == "wait":
        park(token, state)
        return
    output = decide(state)
    _resume(token, output)


def decide(state: dict[str, Any]) -> dict[str, Any]:
    """The outcome of the run's current step. Recorded once per (run, seq): a redelivered task
    gets the recorded answer, and a send goes out once (its idempotency key is the same)."""
    ref = state["run"]
    store_id, run_id, seq = ref["store_id"], ref["run_id"], int(state["seq"])
    recorded = store().decision(store_id, run_id, seq)
    if recorded is not None:
        return recorded
    decision = _Decision(state)
    output, outcome = decision.make()
    if outcome == "ended:unknown_run":
        # An erased run (or none): recording the decision would bring its items back.
        return output
    kept, first = store().record_decision(store_id, run_id, seq, output, outcome)
    if first:  # counted by the decision that was recorded, never by a redelivery
        for count in decision.counts:
            count()
    return kept


class _Decision:
    def __init__(self, state: dict[str, Any]) -> None:
        ref = state["run"]
        self.state = state
        self.store_id: str = ref["store_id"]
        self.run_id: str = ref["run_id"]
        self.flow_id: str = ref["flow_id"]
        self.customer_id: str = ref["customer_id"]
        self.seq = int(state["seq"])
        self.now = _instant(state["now"])
        self.base = {"run": ref, "seq": self.seq + 1, "now": self.now.isoformat()}
        self.counts: list[Callable[[], None]] = []

    def make(self) -> tuple[dict[str, Any], str]:
        run = store().get_run(self.store_id, self.run_id)
        if run is None:
            return self._over("unknown_run")
        if run.status != "active":
            return self._over(run.reason or "ended")
        definition = flows.definition_of(self.store_id, self.flow_id, run.version)
        step = definition.step(self.state["step"]) if definition is not None else None
        if definition is None or step is None:
            return self._end(run, "invalid_step")
        self.base["decided"] = step.id
        membership = store().membership(self.store_id, self.customer_id, self.flow_id)
        if membership is None or membership.run_id != self.run_id:
            return self._end(run, "superseded")
        watched = [*definition.exit_on]
        if step.condition is not None and step.condition.event_since_entry:
            watched.append(step.condition.event_since_entry)
        left = segment_exit_key(definition)
        if left is not None:
            watched.append(left)
        seen = store().last_seen(self.store_id, self.customer_id, watched)
        exited = self._exited(run, definition, seen, left)
        if exited is not None:
            return exited
        return self._step(run, definition, step, seen)

    def _exited(
        self, run: Run, definition: Definition, seen: dict[str, datetime], left: str | None
    ) -> tuple[dict[str, Any], str] | None:
        """The run ends here if the customer did an `exit_on` event, or left the trigger
        segment, since entering."""
        never = datetime.min.replace(tzinfo=UTC)
        for event_type in definition.exit_on:
            if seen.get(event_type, never) > run.entered_at:
                return self._end(run, f"exited:{event_type}")
        if left is not None and seen.get(left, never) > run.entered_at:
            # Also reached when the exit was delivered before the entry that started the run;
            # the decision's own answer ends the execution.
            _ended(run, SEGMENT_EXITED)
            return self._over(SEGMENT_EXITED)
        return None

    def _step(
        self, run: Run, definition: Definition, step: Step, seen: dict[str, datetime]
    ) -> tuple[dict[str, Any], str]:
        if step.type == "wait":
            return self._wait(run, step)
        if step.type == "send_email":
            return self._send(run, definition, step)
        if step.type == "condition":
            return self._condition(run, step, seen)
        if step.type == "wait_for_event":
            return self._wait_for_event(run, step)
        if step.type in ("add_tag", "remove_tag"):
            _ask_for_tags(self.store_id, self.customer_id, run, step, self.now)
            return self._go(run, step.next, "requested")
        return self._end(run, "exit_step" if step.type == "exit" else "invalid_step")

    def _condition(
        self, run: Run, step: Step, seen: dict[str, datetime]
    ) -> tuple[dict[str, Any], str]:
        assert step.condition is not None
        holds = True
        if step.condition.filter is not None:
            customer = _customer(self.store_id, self.customer_id)
            holds = customer is not None and rules.filter_allows(
                step.condition.filter, customer, self.now
            )
        if step.condition.event_since_entry:
            at = seen.get(step.condition.event_since_entry)
            holds = holds and at is not None and at > run.entered_at
        return self._go(run, step.then if holds else step.else_, "yes" if holds else "no")

    def _wait_for_event(self, run: Run, step: Step) -> tuple[dict[str, Any], str]:
        if self.state.get("waiting") == step.id:
            came = self.state.get("resume") == "event"
            return self._go(
                run, step.on_event if came else step.on_timeout, "event" if came else "timeout"
            )
        assert step.timeout is not None
        due = self.now + step.timeout.delta()
        return self._park(due, step.id, waiting=step.id, event=step.event), "waiting"

    def _wait(self, run: Run, step: Step) -> tuple[dict[str, Any], str]:
        if step.next is None:
            return self._end(run, "completed")
        if step.until is not None:
            customer = _customer(self.store_id, self.customer_id)
            flow_settings = flows.flow_settings(self.store_id)
            zone = rules.zone_for(
                customer.country if customer else None,
                flow_settings.time_zone,
                settings().default_time_zone,
            )
            due = rules.next_time_of_day(self.now, step.until, zone)
        else:
            assert step.duration is not None
            due = self.now + step.duration.delta()
        return self._park(due, step.next), "waiting"

    def _send(self, run: Run, definition: Definition, step: Step) -> tuple[dict[str, Any], str]:
        assert step.template_id is not None
        customer = _customer(self.store_id, self.customer_id)
        if customer is not None and not rules.filter_allows(definition.filter, customer, self.now):
            self._skipped(step, "flow_filter")
            return self._end(run, "flow_filter")
        flow_settings = flows.flow_settings(self.store_id)
        zone = rules.zone_for(
            customer.country if customer else None,
            flow_settings.time_zone,
            settings().default_time_zone,
        )
        quiet_end = rules.quiet_until(
            self.now, flow_settings.quiet_start, flow_settings.quiet_end, zone
        )
        if quiet_end is not None:
            # Deferred, never dropped: the same step again once the quiet hours are over, when
            # everything (consent, filter, smart sending) is checked afresh.
            return self._park(quiet_end, step.id), "deferred:quiet_hours"
        owner = f"{self.run_id}#{self.seq}"
        smart = step.marketing and definition.smart_sending
        if smart:
            hours = flow_settings.smart_sending_hours or settings().smart_sending_hours
            if not store().reserve_marketing(
                self.store_id,
                self.customer_id,
                now=self.now,
                since=self.now - timedelta(hours=hours),
                owner=owner,
            ):
                self._skipped(step, "smart_sending")
                return self._go(run, step.next, "skipped:smart_sending")
        outcome = sending.send_email(
            self.store_id,
            customer_id=self.customer_id,
            template_id=step.template_id,
            context=_context(self.store_id, self.customer_id, flow_settings),
            marketing=step.marketing,
            origin=Origin(
                kind="flow",
                flow_id=self.flow_id,
                flow_version=run.version,
                step_id=step.id,
                run_id=self.run_id,
            ),
            idempotency_key=owner,
        )
        if outcome.status != "sent":
            if smart:
                store().release_marketing(self.store_id, self.customer_id, owner)
            reason = outcome.reason or "skipped"
            self._skipped(step, reason)
            return self._go(run, step.next, f"skipped:{reason}")
        message_id = outcome.message_id
        self.counts.append(lambda: stats.sent(self.store_id, self.flow_id, step.id, message_id))
        return self._go(run, step.next, "sent")

    def _skipped(self, step: Step, reason: str) -> None:
        self.counts.append(lambda: stats.skipped(self.store_id, self.flow_id, step.id, reason))

    def _go(self, run: Run, next_step: str | None, outcome: str) -> tuple[dict[str, Any], str]:
        if next_step is None:
            store().end(run, "completed")
            return {**self.base, "action": "end", "reason": "completed"}, outcome
        return {**self.base, "action": "next", "step": next_step}, outcome

    def _park(
        self, due: datetime, then: str, *, waiting: str | None = None, event: str | None = None
    ) -> dict[str, Any]:
        output = {**self.base, "action": "wait", "due": due.isoformat(), "step": then}
        if waiting is not None:
            output["waiting"] = waiting
            output["event"] = event
        return output

    def _end(self, run: Run, reason: str) -> tuple[dict[str, Any], str]:
        store().end(run, reason)
        return self._over(reason)

    def _over(self, reason: str) -> tuple[dict[str, Any], str]:
        return {**self.base, "action": "end", "reason": reason}, f"ended:{reason}"


def _customer(store_id: str, customer_id: str) -> Customer | None:
    """The customer as the contacts read model has them now (read fresh at every step)."""
    contact: Contact | None = contacts.get_contact(store_id, customer_id)
    return None if contact is None else _customer_of(contact)


def _customer_of(contact: Contact) -> Customer:
    return Customer(
        customer_id=contact.customer_id,
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        language=contact.language,
        country=contact.country,
        tags=frozenset(contact.tags),
        email_consent=contact.email_consent,
        favorite=contact.favorite,
        city=contact.city,
        sms_consent=contact.sms_consent,
        created_at=contact.created_at,
        last_seen_at=contact.last_seen_at,
        last_order_at=contact.last_order_at,
        orders_count=contact.orders_count or 0,
        total_spent=contact.total_spent or Decimal(0),
        rating_average=contact.rating_average,
    )


def _context(store_id: str, customer_id: str, flow_settings: FlowSettings) -> dict[str, Any]:
    """What a flow's e-mail shows besides the customer (which sending reads itself): the cart
    as it is now, and the way back to it."""
    lines = store().cart(store_id, customer_id)
    shop_url = (flow_settings.shop_url or "").rstrip("/")
    context: dict[str, Any] = {
        "cart": {
            "items": [_line(line) for line in lines],
            "url": f"{shop_url}/cart" if shop_url else "",
        }
    }
    if shop_url:
        context["shop"] = {"name": store_id, "url": shop_url}
    return context


def _line(line: CartLine) -> dict[str, Any]:
    return {
        "product_id": line.product_id,
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "price": str(line.price) if line.price is not None else None,
        "currency": line.currency,
    }


def _ask_for_tags(store_id: str, customer_id: str, run: Run, step: Step, now: datetime) -> None:
    """Tags belong to the customers service: ask it with an event (flow.tags_requested)."""
    tags = list(step.tags or [])
    data = flow_events.FlowTagsRequestedV1(
        customer_id=customer_id,
        flow_id=run.flow_id,
        run_id=run.run_id,
        add=tags if step.type == "add_tag" else [],
        remove=tags if step.type == "remove_tag" else [],
    )
    event = OutgoingEvent(
        event_type="flow.tags_requested",
        version=1,
        event_id=flow_events.tags_event_id(run.run_id, step.id),
        store_id=store_id,
        occurred_at=now,
        data=data,
    )
    if publish([event]):
        raise RuntimeError("flow.tags_requested was not accepted by the bus")  # retried


# Waiting -----------------------------------------------------------------------------------


def park(token: str, state: dict[str, Any]) -> None:
    """Keeps the task token until the wait is due (or the awaited event comes)."""
    ref = state["run"]
    store().park(
        Timer(ref["store_id"], ref["run_id"], token, _instant(state["due"]), state),
        waiting_for=state.get("event"),
        customer_id=ref["customer_id"],
    )


def fire_due_timers(now: datetime, limit: int = 1000) -> int:
    """Resumes every run whose wait is due by `now` (the scheduled rule's time: the clock's).
    Shard by shard of the due index; each timer is claimed by deleting it, so two firings
    never resume a run twice."""
    resumed = 0
    for shard in range(DUE_SHARDS):
        for store_id, run_id in store().due_timers(shard, now):
            timer = store().claim_timer(store_id, run_id)
            if timer is None:
                continue
            if timer.state.get("event"):
                customer = timer.state["run"]["customer_id"]
                store().stop_waiting(store_id, customer, timer.state["event"], run_id)
            # The run goes on at its due time, whenever the clock got to it.
            _resume(timer.token, {**timer.state, "now": timer.due.isoformat(), "resume": "timer"})
            resumed += 1
            if resumed >= limit:
                return resumed
    return resumed


def _resume(token: str, output: dict[str, Any]) -> None:
    try:
        _sfn().send_task_success(taskToken=token, output=json.dumps(output))
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _GONE:
            raise
        logger.info("run gone before it resumed", extra={"run_id": output["run"]["run_id"]})


# Following events --------------------------------------------------------------------------


def note_event(store_id: str, customer_id: str, event_type: str, at: datetime) -> int:
    """The customer did `event_type`: remembered (exits, conditions), and every run waiting for
    it resumes. Returns how many resumed."""
    store().saw(store_id, customer_id, event_type, at)
    resumed = 0
    for run_id in store().waiting(store_id, customer_id, event_type):
        timer = store().claim_timer(store_id, run_id)
        store().stop_waiting(store_id, customer_id, event_type, run_id)
        if timer is None:
            continue
        _resume(timer.token, {**timer.state, "now": at.isoformat(), "resume": "event"})
        resumed += 1
    return resumed


def note_cart(store_id: str, customer_id: str, line: CartLine) -> None:
    store().update_cart(store_id, customer_id, line)


def run_steps(store_id: str, run_id: str) -> list[tuple[str, str]]:
    """(step, outcome) of each decision of a run, in order (tests and support)."""
    return store().decisions(store_id, run_id)


# Date triggers -----------------------------------------------------------------------------


def note_profile_dates(store_id: str, customer_id: str, version: int, **dates: date | None) -> bool:
    """Files the customer's birthday and sign-up date in the date index (an older profile
    version changes nothing)."""
    current = store().dates(store_id, customer_id)
    if int(current.get("version", "0")) >= version:
        return False
    wanted = {
        name: rules.date_key(name, value) if value is not None else None
        for name, value in dates.items()
    }
    store().file_dates(store_id, customer_id, current, wanted, version)
    return True


def note_order_date(store_id: str, customer_id: str, placed_at: datetime) -> bool:
    """Files the customer's last order day; an older order (late, redelivered) moves nothing."""
    current = store().dates(store_id, customer_id)
    day = rules.date_key("last_order_at", placed_at.astimezone(UTC).date())
    if current.get("last_order_at", "") >= day:
        return False
    store().file_dates(store_id, customer_id, current, {"last_order_at": day}, None)
    return True


def forget_dates(store_id: str, customer_id: str) -> None:
    store().forget_dates(store_id, customer_id)


def fire_date_triggers(now: datetime, limit: int = 1000) -> int:
    """Starts the runs of every live date flow whose customers are due today (the store's day).

    Reads only today's index partitions, shard by shard; a shard done is recorded per flow and
    day, so later ticks of the same day skip it; a tick that stops at `limit` leaves the rest to
    the next (a run already started is a duplicate by its name, never a second run)."""
    started = 0
    for flow in flows.live_date_flows():
        trigger = flow.definition.trigger
        assert trigger.date_property is not None
        days_after = trigger.days_after or 0
        zone = rules.zone_for(None, flows.flow_settings(flow.store_id).time_zone)
        today = now.astimezone(zone).date()
        day = today.isoformat()
        done = store().done_shards(flow.store_id, flow.flow_id, day)
        occasion = rules.occasion(trigger.date_property, today, days_after)
        for shard in range(rules.DATE_SHARDS):
            if shard in done:
                continue
            for key in rules.due_date_keys(trigger.date_property, today, days_after):
                for customer_id in store().filed(flow.store_id, trigger.date_property, key, shard):
                    if start_run(flow, customer_id, occasion, now) == "started":
                        started += 1
            store().shard_done(flow.store_id, flow.flow_id, day, shard)
            if started >= limit:
                return started
    return started


# Scheduled triggers ------------------------------------------------------------------------

# Contacts per fan-out message: each may start a run (a read, a transaction, a counter and a
# StartExecution), so a page stays a few seconds of one invocation.
FANOUT_PAGE = 50


def fire_flow_schedules(now: datetime) -> int:
    """Every live scheduled flow whose occurrence is due by `now` (the schedule's time: the
    clock's) opens a fan-out job for it: one message per contacts shard on the steps queue,
    each walking its shard a page at a time. Returns how many occurrences fired."""
    fired = 0
    for store_id, flow_id, since in flows.store().scheduled():
        flow = flows.store().get(store_id, flow_id)
        trigger = flow.definition.trigger if flow is not None else None
        if flow is None or flow.state != "live" or trigger is None or trigger.schedule is None:
            continue  # paused, back to draft or edited to another trigger: nothing fires
        zone = rules.zone_for(
            None, flows.flow_settings(store_id).time_zone, settings().default_time_zone
        )
        occurrence = rules.latest_occurrence(trigger.schedule, zone, since, now)
        if occurrence is None:
            continue
        key = occurrence.isoformat()
        # Opened, queued, then marked fired: a tick that dies in between is repeated by the
        # next one, whose messages only continue the same cursors.
        store().open_fanout(store_id, flow_id, key, flow.version, now)
        _queue_fanout(
            [
                {"kind": "fanout", "store_id": store_id, "flow_id": flow_id, "at": key, "shard": n}
                for n in range(CONTACT_SHARDS)
            ]
        )
        if trigger.schedule.at is not None:
            flows.store().retire_schedule(store_id, flow_id, since)  # nothing more to fire
        else:
            flows.store().fired(store_id, flow_id, since, occurrence)
        fired += 1
    return fired


def fan_out(message: dict[str, Any]) -> int:
    """One page of one shard of a scheduled flow's occurrence: each contact the flow filter
    lets in enters (one run per flow, customer and occurrence), the shard's cursor moves on,
    and the next page is queued. A redelivered message finds the cursor moved (or moves it
    first: the other delivery then stops), so the walk never forks. Returns runs started."""
    store_id, flow_id, key, shard = (
        message["store_id"],
        message["flow_id"],
        message["at"],
        int(message["shard"]),
    )
    flow = flows.store().get(store_id, flow_id)
    if flow is None or flow.state != "live":
        return 0  # paused meanwhile: no new runs
    after, done = store().fanout_cursor(store_id, flow_id, key, shard)
    if done:
        return 0
    page, last = contacts.contact_store().page(store_id, shard, after=after, limit=FANOUT_PAGE)
    at = _instant(key)
    started = 0
    for contact in page:
        if not rules.filter_allows(flow.definition.filter, _customer_of(contact)):
            continue
        if start_run(flow, contact.customer_id, f"schedule:{key}", at) == "started":
            started += 1
    moved = store().advance_fanout(
        store_id, flow_id, key, shard, read_after=after, last=last, started=started
    )
    if moved and last is not None:
        _queue_fanout([message])
    return started


def occurrences_page(
    store_id: str, flow_id: str, limit: int, before: str | None
) -> tuple[list[FanoutJob], str | None]:
    """A page of a scheduled flow's occurrences (their fan-out jobs), newest first, and the
    occurrence key the next page starts after (None at the end)."""
    keys, last = store().fanouts(store_id, flow_id, limit, before)
    jobs = [job for key in keys if (job := store().fanout(store_id, flow_id, key)) is not None]
    return jobs, last


def occurrence(store_id: str, flow_id: str, at: datetime) -> FanoutJob | None:
    return store().fanout(store_id, flow_id, at.astimezone(UTC).isoformat())


def fanout_status(store_id: str, flow_id: str, occurrence: datetime) -> dict[str, int]:
    return store().fanout_status(store_id, flow_id, occurrence.astimezone(UTC).isoformat())


def _queue_fanout(messages: list[dict[str, Any]]) -> None:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=settings().flow_steps_queue)["QueueUrl"]
    for start in range(0, len(messages), 10):
        batch = messages[start : start + 10]
        answer = sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(batch)],
        )
        if answer.get("Failed"):
            raise RuntimeError("fan-out messages were not queued")  # the tick or page retries


# Privacy requests --------------------------------------------------------------------------


def runs_of_customer(store_id: str, customer_id: str) -> list[dict[str, Any]]:
    """The customer's runs for an access request: flow, version, dates, status, each decision
    with its date, and the sends of the run (by their origin)."""
    sends: dict[str, list[dict[str, Any]]] = {}
    for send in sending.send_store().of_customer(store_id, customer_id):
        if send.origin.run_id:
            sends.setdefault(send.origin.run_id, []).append(
                {
                    "message_id": send.message_id,
                    "step_id": send.origin.step_id,
                    "template_id": send.template_id,
                    "status": send.status,
                    "reason": send.reason,
                    "sent_at": send.sent_at.isoformat() if send.sent_at else None,
                }
            )
    found = []
    for run_id in store().customer_runs(store_id, customer_id):
        run = store().get_run(store_id, run_id)
        if run is None:
            continue
        flow = flows.store().get(store_id, run.flow_id)
        steps = store().steps(store_id, run_id)
        ended = run.status != "active"
        found.append(
            {
                "run_id": run_id,
                "flow_id": run.flow_id,
                "flow_name": flow.name if flow is not None else None,
                "version": run.version,
                "started_at": run.entered_at.isoformat(),
                "ended_at": (steps[-1]["decided_at"] if steps else None) if ended else None,
                "status": run.status,
                "reason": run.reason,
                "steps": steps,
                "sends": sends.get(run_id, []),
            }
        )
    return sorted(found, key=lambda run: str(run["started_at"]))


def forget_customer(store_id: str, customer_id: str) -> dict[str, int]:
    """Erasure: every run of the customer is stopped and deleted, and every per-customer item
    (memberships, what they did, cart, smart-sending slot, waits, last touch, date index) goes.
    Flow statistics stay as counters without the person. Run again, it finds nothing."""
    runs = 0
    for run_id in store().customer_runs(store_id, customer_id):
        run = store().get_run(store_id, run_id)
        if run is not None and run.status == "active":
            store().claim_timer(store_id, run_id)
            store().end(run, "erased")
            try:
                _sfn().stop_execution(executionArn=_execution_arn(run_id), cause="erased")
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in _GONE:
                    raise
        if store().delete_run(store_id, run_id):
            runs += 1
    return {"flow_runs": runs, "flow_items": store().delete_customer_items(store_id, customer_id)}
