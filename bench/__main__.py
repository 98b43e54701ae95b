"""`make bench`: what the customers API, service start-up and the stream publisher cost.

Sections: api (AWS requests, items, bytes and capacity units per operation), startup (handler
module import time and memory beside `import boto3`), stream (events per PutEvents call).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
import warnings
from typing import Any

SECTIONS = ("api", "startup", "stream")  # as printed; start-up runs first, on a quiet process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run only this section (repeatable)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="start-up runs per module")
    parser.add_argument("--cold-repeat", type=int, default=3, help="start-up runs without .pyc")
    args = parser.parse_args(argv)
    chosen = args.only or list(SECTIONS)
    started = time.perf_counter()
    document: dict[str, Any] = {}
    text: dict[str, str] = {}

    if "startup" in chosen:
        from bench import startup  # noqa: PLC0415

        found = startup.run(args.repeat, args.cold_repeat)
        document["startup"] = startup.as_json(found)
        text["startup"] = startup.render(found, args.repeat, args.cold_repeat)
    if "api" in chosen or "stream" in chosen:
        from bench import api, report, stream  # noqa: PLC0415
        from bench.stack import local_stack  # noqa: PLC0415

        # Powertools prints metrics every 100 values even when disabled: keep them off the report.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        with local_stack() as stack, contextlib.redirect_stdout(io.StringIO()):
            if "api" in chosen:
                results = api.run(stack)
                document["api"] = report.api_json(results)
                text["api"] = report.render_api(results)
            if "stream" in chosen:
                workloads = stream.run(stack)
                document["stream"] = stream.as_json(workloads)
                text["stream"] = stream.render(workloads)
    document["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        json.dump(document, sys.stdout, indent=2, default=str)
        print()
    else:
        print("\n".join(text[section] for section in SECTIONS if section in text))
        print(f"\n(bench ran in {document['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
