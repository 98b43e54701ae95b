"""`make run`: the whole of Clientela on this machine, until Ctrl-C.

python -m clientela_local [--port 8000] [--no-seed]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from clientela_local import seed
from clientela_local.console import console_link
from clientela_local.stack import LocalStack

log = logging.getLogger("clientela_local")

BANNER = """
Clientela is running locally ({services}).

  Console {console}
          (signs you in as the demo store's owner for 8 hours; `make console-link` makes another)
  API     {url}
  Docs    {url}/docs
  Health  {url}/health
  AWS     {aws}  (moto: sent mail at {aws}/moto-api/data.json, key "ses")

  Bearer token for the demo store ({store}, every scope, valid 12 hours):

{token}

  Try it:  curl -H "Authorization: Bearer <token>" {url}/customers
  Stop it: Ctrl-C
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clientela_local", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 8000),
        help="default: $PORT or 8000",
    )
    parser.add_argument("--no-seed", action="store_true", help="start with no demo customers")
    parser.add_argument("--seed-count", type=int, default=seed.DEFAULT_COUNT, metavar="N")
    args = parser.parse_args(argv)
    _configure_logging()

    stopping = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    if not _port_is_free(args.port):  # say so now, not after provisioning everything
        print(f"Port {args.port} is in use: try --port N (or PORT=N make run).", file=sys.stderr)
        return 1
    stack = LocalStack(port=args.port)
    stack.start()
    try:
        token = seed.demo_token()
        services = ", ".join(loaded.service for loaded in stack.apps)
        print(
            BANNER.format(
                services=services,
                url=stack.base_url,
                aws=stack.endpoint_url,
                store=seed.DEMO_STORE,
                token=token,
                console=console_link(stack.base_url),
            ),
            flush=True,
        )
        if not args.no_seed:
            # In the background: the API is usable at once, the demo data fills in behind it.
            threading.Thread(
                target=_seed, args=(stack.base_url, token, args.seed_count, stopping), daemon=True
            ).start()
        while not stopping.wait(0.5):
            pass
    finally:
        print("Stopping...", flush=True)
        stack.stop()
    return 0


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the gateway will
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _seed(base_url: str, token: str, count: int, stopping: threading.Event) -> None:
    started = time.monotonic()
    log.info("seeding %d demo customers into %s...", count, seed.DEMO_STORE)
    try:
        seed.seed_flows(base_url, token)
        seed.seed_segment_flow(base_url, token)
        seed.seed(base_url, token, seed.demo_customers(count))
    except Exception as exc:
        if not stopping.is_set():  # a stop cuts seeding short: not worth a warning
            log.error("seeding the demo store failed: %s", exc)
        return
    log.info("demo store ready: %d customers (%.0fs)", count, time.monotonic() - started)


def _configure_logging() -> None:
    """Our lines (one per request, seeding) at INFO; libraries only when something is wrong.
    The apps log through Powertools (JSON on stdout), as they do in CloudWatch."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("clientela_local").setLevel(logging.INFO)


if __name__ == "__main__":
    raise SystemExit(main())
