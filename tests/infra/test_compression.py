"""Large API answers go compressed, as API Gateway sends them (minimum_compression_size)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from clientela_local.gateway import MINIMUM_COMPRESSION_SIZE, compressed
from clientela_local.gateway_responses import Answer

SERVICES = Path(__file__).resolve().parents[2] / "services"


@pytest.mark.parametrize("service", ["customers", "credits", "automation", "exports"])
def test_every_api_compresses_from_the_size_the_local_gateway_uses(service: str) -> None:
    config = json.loads((SERVICES / service / ".chalice" / "config.json").read_text())
    assert config["minimum_compression_size"] == MINIMUM_COMPRESSION_SIZE


def test_a_large_json_answer_is_gzipped_for_a_client_that_accepts_it() -> None:
    body = json.dumps({"items": ["x" * 40] * 100}).encode()
    answer = Answer(200, {"Content-Type": "application/json"}, body)

    sent = compressed(answer, "gzip, deflate, br")

    assert sent.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(sent.body) == body
    assert len(sent.body) < len(body)


@pytest.mark.parametrize(
    ("content_type", "size", "accept"),
    [
        ("application/json", MINIMUM_COMPRESSION_SIZE - 1, "gzip"),  # too small to be worth it
        ("application/json", 5000, ""),  # the client did not ask
        ("image/jpeg", 5000, "gzip"),  # already compressed
    ],
)
def test_other_answers_go_as_they_are(content_type: str, size: int, accept: str) -> None:
    answer = Answer(200, {"Content-Type": content_type}, b"a" * size)
    assert compressed(answer, accept) is answer
