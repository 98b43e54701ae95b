"""A route module for tests/unit/test_lazy_routes.py: imported only by a request to its routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from clientela.api import Call, Reply, Routes


class ThingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    twice: bool = False


class ThingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=20)


class Thing(BaseModel):
    thing: str


routes = Routes()
register = routes.register


@routes.route(
    "/probe/things/{thing}",
    "GET",
    summary="A thing",
    query=ThingQuery,
    response=Thing,
    auth=False,
)
def get_thing(call: Call, thing: str) -> Reply:
    return Reply(200, Thing(thing=thing * 2 if call.query.twice else thing))


@routes.route(
    "/probe/things", "POST", summary="Make a thing", body=ThingIn, response=Thing, auth=False
)
def make_thing(call: Call) -> Reply:
    return Reply(201, Thing(thing=call.body.name))
