"""Prints a bearer token for the local stack (signed with the local development key).

    python -m clientela_local.token --store demo-store [--scopes customers:read ...] [--ttl 3600]
        [--subject ana@store]

Only the token goes to stdout, so `TOKEN=$(python -m clientela_local.token --store s1)` works.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from clientela import auth


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clientela_local.token",
        description="Prints a bearer token for the local stack.",
    )
    parser.add_argument("--store", default="", help="the store (tenant) id, e.g. demo-store")
    parser.add_argument(
        "--scopes",
        nargs="+",
        default=list(auth.ALL_SCOPES),
        metavar="SCOPE",
        help="scopes to grant, space or comma separated (default: every scope)",
    )
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    parser.add_argument("--subject", default=None, help="who holds it (the `sub` claim)")
    args = parser.parse_args(argv)

    store = args.store.strip()
    if not store:
        parser.error("--store is required, e.g. --store demo-store")  # exits with status 2
    scopes = sorted({s for given in args.scopes for s in given.split(",") if s})
    unknown = set(scopes) - set(auth.ALL_SCOPES)
    if unknown:
        parser.error(f"unknown scopes: {' '.join(sorted(unknown))}")
    if args.ttl <= 0:
        parser.error("--ttl must be a positive number of seconds")
    try:
        token = auth.issue_token(
            store, scopes, auth.LOCAL_DEVELOPMENT_KEY, ttl_seconds=args.ttl, subject=args.subject
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
