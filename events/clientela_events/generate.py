"""Writes `events/schemas/<type>.v<N>.json` and `events/samples/<type>.v<N>.json`.

`python -m clientela_events.generate` (or `make schemas`). Refuses to overwrite a published
version with a change that would break its consumers: that change needs a new version.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from clientela_events.compat import breaking_changes
from clientela_events.envelope import Envelope, Metadata
from clientela_events.registry import CONTRACTS, SAMPLE_EVENT_ID, Contract

EVENTS_DIR = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = EVENTS_DIR / "schemas"
SAMPLES_DIR = EVENTS_DIR / "samples"


def schema_of(contract: Contract) -> dict[str, Any]:
    schema = Envelope[contract.model].model_json_schema()  # type: ignore[name-defined]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://clientela.dev/events/{contract.name}.json"
    schema["title"] = f"{contract.event_type} v{contract.version}"
    schema["x-source"] = contract.source
    if contract.also_from:
        schema["x-also-sources"] = list(contract.also_from)
    return schema


def sample_of(contract: Contract) -> dict[str, Any]:
    data = contract.model.model_validate(contract.sample)
    occurred_at = datetime.fromisoformat("2026-11-23T12:00:00+00:00")
    detail = Envelope[contract.model](  # type: ignore[name-defined]
        metadata=Metadata(
            event_id=SAMPLE_EVENT_ID,
            event_type=contract.event_type,
            version=contract.version,
            occurred_at=occurred_at,
            store_id="demo-store",
            correlation_id="3f1c2a9e-5b7d-4c8e-9f0a-1b2c3d4e5f60",
        ),
        data=data,
    )
    return {
        "source": contract.source,
        "detail-type": contract.event_type,
        "detail": detail.model_dump(mode="json"),
    }


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> int:
    SCHEMAS_DIR.mkdir(exist_ok=True)
    SAMPLES_DIR.mkdir(exist_ok=True)
    failed = False
    for contract in CONTRACTS:
        schema_path = SCHEMAS_DIR / f"{contract.name}.json"
        schema = schema_of(contract)
        if schema_path.exists():
            problems = breaking_changes(json.loads(schema_path.read_text()), schema)
            if problems:
                failed = True
                print(f"{contract.name}: breaking change, publish a new version instead:")
                for problem in problems:
                    print(f"  {problem}")
                continue
        schema_path.write_text(_dump(schema))
        (SAMPLES_DIR / f"{contract.name}.json").write_text(_dump(sample_of(contract)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
