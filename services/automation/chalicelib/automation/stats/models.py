"""API models of a flow's stats."""

from __future__ import annotations

from pydantic import BaseModel, Field

from chalicelib.automation.stats.store import Counts


class Tally(BaseModel):
    sent: int = 0
    skipped: dict[str, int] = Field(default_factory=dict, description="By reason.")
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: dict[str, str] = Field(
        default_factory=dict, description="By currency, decimal strings."
    )

    @classmethod
    def of(cls, counts: Counts) -> Tally:
        c = counts.counters
        return cls(
            sent=c["sent"],
            skipped={
                k.removeprefix("skipped#"): v for k, v in c.items() if k.startswith("skipped#")
            },
            opened=c["opened"],
            clicked=c["clicked"],
            converted=c["converted"],
            revenue={currency: str(amount) for currency, amount in counts.revenue.items()},
        )


class StepStats(Tally):
    step_id: str


class FlowStats(Tally):
    flow_id: str
    entered: int = 0
    ended: dict[str, int] = Field(
        default_factory=dict,
        description="Runs ended early, by reason: `segment_exited` (the customer left the "
        "segment that triggered the flow).",
    )
    steps: list[StepStats]
