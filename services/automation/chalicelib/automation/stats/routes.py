"""Routes of a flow's stats."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.automation.flows import usecases as flows
from chalicelib.automation.stats import usecases
from chalicelib.automation.stats.models import FlowStats, StepStats, Tally
from chalicelib.automation.stats.store import Counts
from clientela import problems
from clientela.api import Call, Reply, Routes

routes = Routes()
register = routes.register


@routes.route(
    "/flows/{flow_id}/stats",
    "GET",
    summary="A flow's stats, per step",
    response=FlowStats,
    errors=(404,),
)
def flow_stats(call: Call, flow_id: str) -> Reply:
    """Entered, sent, skipped by reason, opened, clicked, converted (an order within 5 days of
    an open or click, last touch) and revenue, for the flow and per step."""
    try:
        flow = flows.get_flow(call.store_id, flow_id)
    except flows.FlowNotFound:
        raise problems.not_found("flow") from None
    counts = usecases.counts(call.store_id, flow_id)
    total = Counts()
    steps = []
    for step in flow.definition.steps:
        step_counts = counts.get(step.id, Counts())
        total.counters.update(step_counts.counters)
        for currency, amount in step_counts.revenue.items():
            total.revenue[currency] = total.revenue.get(currency, Decimal(0)) + amount
        steps.append(StepStats(step_id=step.id, **Tally.of(step_counts).model_dump()))
    flow_counts = counts.get(None, Counts())
    return Reply(
        200,
        FlowStats(
            flow_id=flow_id,
            entered=flow_counts.counters["entered"],
            ended={
                k.removeprefix("ended#"): v
                for k, v in flow_counts.counters.items()
                if k.startswith("ended#")
            },
            steps=steps,
            **Tally.of(total).model_dump(),
        ),
    )
