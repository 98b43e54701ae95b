"""Events of the automation service's flows (source `clientela.automation`).

`flow.tags_requested`: a flow's add / remove tag step asks the customers service, which owns
tags, to change a customer's tags. Tags only, never personal data.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

SOURCE = "clientela.automation"

_Tag = Annotated[str, Field(min_length=1, max_length=64)]
_NAMESPACE = uuid.UUID("5d3c1c1e-9b7a-4f0e-8a52-6f3f1d2b7c90")


class FlowTagsRequestedV1(BaseModel):
    """A flow asks for tags to be added to and / or removed from a customer."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    flow_id: str = Field(min_length=1, max_length=128)
    run_id: str = Field(min_length=1, max_length=128)
    add: list[_Tag] = Field(default_factory=list, max_length=20)
    remove: list[_Tag] = Field(default_factory=list, max_length=20)


def tags_event_id(run_id: str, step_id: str) -> uuid.UUID:
    """The same step of the same run always asks with the same event id (consumers de-duplicate
    on it)."""
    return uuid.uuid5(_NAMESPACE, f"{run_id}/{step_id}")
