"""The demo store's abandoned-cart and birthday flows: activated once, with the shop URL their
mails link to."""

from __future__ import annotations

import json

import responses

from clientela_local.seed import seed_flows, seed_segment_flow

BASE = "http://127.0.0.1:9"


def test_the_demo_flows_go_live_once() -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/flows", json={"items": []})
        mock.add(responses.PUT, f"{BASE}/flows/settings", json={})
        mock.add(
            responses.POST,
            f"{BASE}/flows/templates/abandoned_cart",
            json={"id": "F1", "name": "Abandoned cart", "state": "live"},
            status=201,
        )
        mock.add(
            responses.POST,
            f"{BASE}/flows/templates/birthday",
            json={"id": "F2", "name": "Birthday", "state": "live"},
            status=201,
        )
        assert seed_flows(BASE, "token") == "F1"
        settings = json.loads(mock.calls[1].request.body or b"{}")
        assert settings["shop_url"].startswith("https://")
    live = {
        "items": [
            {"id": "F1", "name": "Abandoned cart", "state": "live"},
            {"id": "F2", "name": "Birthday", "state": "live"},
        ]
    }
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/flows", json=live)
        assert seed_flows(BASE, "token") == "F1"  # no second flow
        assert len(mock.calls) == 1


def test_the_demo_vip_segment_and_its_flow_are_made_once() -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/segments", json={"items": [{"id": "new", "name": "New"}]})
        mock.add(responses.POST, f"{BASE}/segments", json={"id": "S1", "name": "VIP"}, status=201)
        mock.add(responses.GET, f"{BASE}/flows", json={"items": []})
        mock.add(responses.POST, f"{BASE}/flows", json={"id": "F3"}, status=201)
        assert seed_segment_flow(BASE, "token") == "F3"
        flow = json.loads(mock.calls[3].request.body or b"{}")
        assert flow["definition"]["trigger"] == {"type": "segment", "segment_id": "S1"}
        assert flow["state"] == "live"
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/segments", json={"items": [{"id": "S1", "name": "VIP"}]})
        mock.add(
            responses.GET, f"{BASE}/flows", json={"items": [{"id": "F3", "name": "VIP welcome"}]}
        )
        assert seed_segment_flow(BASE, "token") == "F3"  # nothing made twice
        assert len(mock.calls) == 2
