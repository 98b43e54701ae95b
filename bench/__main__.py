"""`make bench`: what the customers API, service start-up and the stream publisher cost.

Sections: api (AWS requests, items, bytes and capacity units per operation), startup (handler
module import time and memory beside `import boto3`), stream (events per PutEvents call),
reports (the customer reports over a store of 100 000 orders; only with `--only reports`),
search (requests and items read per page of each customer filter and sort, for stores of
10 000 and 100 000 customers), credits (requests, capacity per partition key and our code's time
per credits operation; only with `--only credits`), exports (rows/s and peak memory assembling
100 000 and 1 000 000 customers to CSV and XLSX, beside bare writers; only with `--only exports`),
imports (reading a 1,000,000-row file beside a bare csv.reader, and a preview end to end:
rows/s; only with `--only imports`), flows (per abandoned-cart run: state
transitions, invocations, requests, our time per send decision; a burst of cart events: runs
started and duplicates; only with `--only flows`), fanout (one scheduled flow occurrence over a
store's contacts: requests per contact, pages, duplicates; only with `--only fanout`), console
(the admin console's first load in Chromium: time to the list's first row, where it goes
(each file's and API call's start and end), the list's server time alone, bytes transferred;
only with `--only console`; `--console-fast-moto` for moto's share).
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

# As printed; start-up runs first, on a quiet process.
SECTIONS = (
    "api",
    "startup",
    "stream",
    "reports",
    "search",
    "credits",
    "exports",
    "imports",
    "scale",
    "flows",
    "fanout",
    "console",
)
# Eight minutes on moto (it seeds 100 000 orders; moto's Query is slow): with --only only.
# Two minutes on moto (it grants 200+ lots through the API): with --only only.
# Several minutes (a million rows to CSV and to XLSX, each read back): with --only only.
# A 1,000,000-row file read twice, then a preview on moto (a few minutes): with --only only.
# A Black-Friday hour replayed at several shard counts (minutes on moto): with --only only.
# Per-run costs and a burst of cart events on a moto of its own (minutes): with --only only.
# A stack of its own, a seeded store and a browser, loads repeated (a minute or two): --only.
ON_REQUEST = ("reports", "credits", "exports", "imports", "scale", "flows", "fanout", "console")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run only this section (repeatable)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="start-up runs per module")
    parser.add_argument("--cold-repeat", type=int, default=3, help="start-up runs without .pyc")
    parser.add_argument(
        "--report-orders", type=int, default=100_000, help="orders the reports section seeds"
    )
    parser.add_argument(
        "--customers",
        default="10000,100000",
        help="store sizes the search section seeds, comma-separated (default 10000,100000)",
    )
    _on_request_options(parser)
    args = parser.parse_args(argv)
    chosen = args.only or [section for section in SECTIONS if section not in ON_REQUEST]
    started = time.perf_counter()
    document: dict[str, Any] = {}
    text: dict[str, str] = {}

    # Sections with a process, server or browser of their own: before the shared stack.
    for name, run in (
        ("startup", _startup),
        ("flows", _flows),
        ("fanout", _fanout),
        ("console", _console),
    ):
        if name in chosen:
            run(args, document, text)
    if ({"api", "stream", "reports", "search", *ON_REQUEST} - {"flows", "fanout", "console"}) & set(
        chosen
    ):
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
            if "reports" in chosen:
                from bench import reports  # noqa: PLC0415

                reported = reports.run(stack, args.report_orders)
                document["reports"] = reports.as_json(reported)
                text["reports"] = reports.render(reported)
            if "search" in chosen:
                from bench import customer_search  # noqa: PLC0415

                searched = customer_search.run(stack, customer_search.parse_sizes(args.customers))
                document["search"] = customer_search.as_json(searched)
                text["search"] = customer_search.render(searched)
            _on_request(stack, chosen, args, document, text)
    document["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        json.dump(document, sys.stdout, indent=2, default=str)
        print()
    else:
        print("\n".join(text[section] for section in SECTIONS if section in text))
        print(f"\n(bench ran in {document['seconds']} s)")
    return 0


def _imports(
    stack: Any, args: argparse.Namespace, document: dict[str, Any], text: dict[str, str]
) -> None:
    from bench import imports  # noqa: PLC0415

    imported = imports.run(stack, args.import_rows, args.import_preview_rows)
    document["imports"] = imports.as_json(imported)
    text["imports"] = imports.render(imported)


def _credit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--import-rows", type=int, default=1_000_000, help="rows of the file imports reads"
    )
    parser.add_argument(
        "--import-preview-rows", type=int, default=2_000, help="rows imports previews on moto"
    )
    parser.add_argument(
        "--credit-samples", type=int, default=5, help="requests per credits operation (default 5)"
    )
    parser.add_argument(
        "--credit-lots",
        type=int,
        default=200,
        help="lots of the large credits debit, over 96 for the two-step path (default 200)",
    )


def _startup(args: argparse.Namespace, document: dict[str, Any], text: dict[str, str]) -> None:
    from bench import startup  # noqa: PLC0415

    found = startup.run(args.repeat, args.cold_repeat)
    document["startup"] = startup.as_json(found)
    text["startup"] = startup.render(found, args.repeat, args.cold_repeat)


def _flow_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flow-runs", type=int, default=20, help="abandoned-cart runs measured")
    parser.add_argument(
        "--flow-burst", type=int, default=2000, help="cart events of the flows burst (default 2000)"
    )


def _flows(args: argparse.Namespace, document: dict[str, Any], text: dict[str, str]) -> None:
    # A moto server of its own, with Step Functions executing: before the shared stack.
    from bench import flows  # noqa: PLC0415

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with contextlib.redirect_stdout(io.StringIO()):
        flowed = flows.run(args.flow_runs, args.flow_burst)
    document["flows"] = flows.as_json(flowed)
    text["flows"] = flows.render(flowed)


def _fanout(args: argparse.Namespace, document: dict[str, Any], text: dict[str, str]) -> None:
    # A scheduled flow's occurrence over a store's contacts, on a moto server of its own.
    from bench import flowfanout  # noqa: PLC0415

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with contextlib.redirect_stdout(io.StringIO()):
        found = flowfanout.run(args.fanout_contacts)
    document["fanout"] = flowfanout.as_json(found)
    text["fanout"] = flowfanout.render(found)


def _credits(
    stack: Any, args: argparse.Namespace, document: dict[str, Any], text: dict[str, str]
) -> None:
    from bench import credits  # noqa: PLC0415

    sizes = credits.Sizes(samples=args.credit_samples, big_lots=args.credit_lots)
    credited = credits.run(stack, sizes)
    document["credits"] = credits.as_json(credited)
    text["credits"] = credits.render(credited)


def _on_request(
    stack: Any,
    chosen: list[str],
    args: argparse.Namespace,
    document: dict[str, Any],
    text: dict[str, str],
) -> None:
    """The long sections that run only when named (ON_REQUEST)."""
    if "credits" in chosen:
        _credits(stack, args, document, text)
    if "exports" in chosen:
        _exports(stack, args, document, text)
    if "imports" in chosen:
        _imports(stack, args, document, text)
    if "scale" in chosen:
        _scale(stack, args, document, text)


def _export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--export-rows",
        default="100000,1000000",
        help="export sizes the exports section assembles, comma-separated",
    )


def _exports(
    stack: Any, args: argparse.Namespace, document: dict[str, Any], text: dict[str, str]
) -> None:
    from bench import exports  # noqa: PLC0415

    sizes = tuple(int(n) for n in args.export_rows.split(",") if n)
    exported = exports.run(stack, sizes)
    document["exports"] = exports.as_json(exported)
    text["exports"] = exports.render(exported)


def _console(args: argparse.Namespace, document: dict[str, Any], text: dict[str, str]) -> None:
    from bench import console  # noqa: PLC0415

    with contextlib.redirect_stdout(io.StringIO()):
        found = console.measure(
            args.console_customers, args.console_loads, fast_moto=args.console_fast_moto
        )
    document["console"] = found
    text["console"] = console.text(found)


def _on_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--console-customers", type=int, default=200, help="customers of the console's store"
    )
    parser.add_argument("--console-loads", type=int, default=5, help="cold loads of the console")
    parser.add_argument(
        "--console-fast-moto",
        action="store_true",
        help="the console bench with moto sped up (bench/fastmoto.py): the server's share",
    )
    _credit_options(parser)
    _export_options(parser)
    _scale_options(parser)
    _flow_options(parser)
    parser.add_argument(
        "--fanout-contacts", type=int, default=400, help="contacts a scheduled flow fans out to"
    )


def _scale_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale-divisor", type=int, default=50, help="a peak second scaled down by (default 50)"
    )
    parser.add_argument(
        "--scale-shards", default="1,16", help="store shard counts to run, comma-separated"
    )
    parser.add_argument(
        "--scale-stores", type=int, default=20, help="small stores sampled (default 20)"
    )


def _scale(
    stack: Any, args: argparse.Namespace, document: dict[str, Any], text: dict[str, str]
) -> None:
    from bench import scale  # noqa: PLC0415

    options = scale.Options(
        divisor=args.scale_divisor,
        shards=tuple(int(n) for n in args.scale_shards.split(",")),
        stores=args.scale_stores,
    )
    found = scale.run(stack, options)
    document["scale"] = scale.as_json(found)
    text["scale"] = scale.render(found)


if __name__ == "__main__":
    sys.exit(main())
