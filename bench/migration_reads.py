"""What a report page reads while a store is re-keyed from the first layout, and after.

A probe, re-runnable: `python -m bench.migration_reads` (`--orders 400 --days 120 --period 30`).
It starts a moto of its own, provisions it as `make run` does, writes a store's orders in the
first layout (`pk=STORE#<s>`, no `orders_key`: as the first layout's code left them), marks the
store as migrating, and runs the purchase-frequency report (one report page: each page runs
the report whole) over the last `--period` days three times: nothing moved yet, half the
orders moved by the job, the job done (today's layout only, the store no longer migrating:
what every store pays).

Requests are counted on the service's own DynamoDB client. Read units are billed as AWS bills
a Query: on the size of every item it evaluates, before the filter and the projection, per
request, rounded up to 4 KB (strongly consistent: 1 unit, eventually: half). The sizes come
from the same query run again without filter or projection on a client of its own.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from clientela_local.environment import in_process

STORE = "bench-migration-reads"
ENV = in_process()


@dataclass
class Reads:
    requests: Counter[str] = field(default_factory=Counter)
    items_evaluated: int = 0
    read_units: float = 0.0


class QueryMeter:
    """Counts the requests of one client and bills its Queries (after-call hooks)."""

    def __init__(self, client: Any, unmetered: Any) -> None:
        self.reads = Reads()
        self._unmetered = unmetered
        client.meta.events.register("after-call.dynamodb", self._after)
        client.meta.events.register("before-parameter-build.dynamodb", self._keep)

    def _keep(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["probe.params"] = dict(params)

    def _after(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        from bench.itemsize import item_size, read_units  # noqa: PLC0415

        self.reads.requests[model.name] += 1
        if model.name != "Query":
            return
        params = {
            name: value
            for name, value in context["probe.params"].items()
            if name not in ("FilterExpression", "ProjectionExpression", "Select")
        }
        values = params.get("ExpressionAttributeValues", {})
        used = params["KeyConditionExpression"]
        params["ExpressionAttributeValues"] = {k: v for k, v in values.items() if k in used}
        names = params.pop("ExpressionAttributeNames", {})
        if any(name in used for name in names):
            params["ExpressionAttributeNames"] = {k: v for k, v in names.items() if k in used}
        items = self._unmetered.query(**params).get("Items", [])
        self.reads.items_evaluated += len(items)
        size = sum(item_size(item) for item in items)
        self.reads.read_units += read_units(size, consistent=bool(params.get("ConsistentRead")))


def _seed(orders: int, days: int) -> None:
    import boto3  # noqa: PLC0415

    from chalicelib.customers import keys  # noqa: PLC0415
    from chalicelib.customers.orders.rules import LineItem, Order  # noqa: PLC0415
    from chalicelib.customers.orders.store import order_item  # noqa: PLC0415
    from chalicelib.customers.settings import settings  # noqa: PLC0415

    db: Any = boto3.client("dynamodb")
    now = datetime.now(UTC)
    items = []
    for n in range(orders):
        email = f"buyer{n % (orders // 4 or 1)}@example.com"
        line = LineItem(f"p{n % 40}", f"SKU-{n % 40}", "Thing", 1 + n % 3, Decimal("12.50"))
        order = Order(
            order_id=f"OLD-{n:06d}",
            email=email,
            placed_at=now - timedelta(days=days * n / orders),
            currency="EUR",
            total=line.unit_price * line.quantity,
            items=(line,),
            customer_id=f"01JD3Z6Q4W0W8Y5J3K2M{n % (orders // 4 or 1):06d}",
        )
        item = order_item(STORE, order)
        item.pop("orders_key")
        item["pk"] = {"S": keys.store_pk(STORE)}
        items.append({"PutRequest": {"Item": item}})
    for start in range(0, len(items), 25):
        db.batch_write_item(RequestItems={settings().table: items[start : start + 25]})


def _report(meter: QueryMeter, period: int) -> tuple[Reads, int, int]:
    from chalicelib.customers.keys import stamp  # noqa: PLC0415
    from chalicelib.customers.orders import usecases  # noqa: PLC0415
    from chalicelib.customers.orders.reports.rules import (  # noqa: PLC0415
        FrequencyCriteria,
        Period,
    )

    now = datetime.now(UTC)
    window = Period(stamp(now - timedelta(days=period)), stamp(now))
    meter.reads = Reads()
    rows = usecases.frequency_report(STORE, window, FrequencyCriteria())
    reads, meter.reads = meter.reads, Reads()  # what follows is not the report's
    return reads, len(rows), sum(row.orders for row in rows)


def run(orders: int, days: int, period: int) -> list[tuple[str, Reads, int, int]]:
    import boto3  # noqa: PLC0415

    from clientela_local.apps import load_apps  # noqa: PLC0415
    from clientela_local.local_aws import local_aws  # noqa: PLC0415
    from clientela_local.provision import provision  # noqa: PLC0415

    with local_aws() as server:
        os.environ.update(ENV, AWS_ENDPOINT_URL=server.endpoint_url, MOTO_PORT=str(server.port))
        provision(server.endpoint_url)
        load_apps()
        from chalicelib.customers.migration import usecases as migration  # noqa: PLC0415
        from clientela import aws  # noqa: PLC0415

        aws.reset()
        _seed(orders, days)
        meter = QueryMeter(aws.dynamodb(), boto3.client("dynamodb"))
        results = []
        migration.migrate_store(STORE, budget=0)  # marked: the job started, nothing moved
        results.append(("migrating, nothing moved", *_report(meter, period)))
        migration.migrate_store(STORE, budget=orders // 2)
        results.append(("migrating, half the orders moved", *_report(meter, period)))
        assert migration.migrate_store(STORE, budget=10 * orders).phase == "done"
        results.append(("done (today's layout only)", *_report(meter, period)))
        return results


def render(results: list[tuple[str, Reads, int, int]], orders: int, period: int) -> str:
    lines = [
        f"purchase-frequency report, one page, {orders} orders of the store, last {period} days",
        "| state | requests (by API) | items evaluated | RCU | rows | orders counted |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, reads, rows, counted in results:
        apis = ", ".join(f"{n} {api}" for api, n in sorted(reads.requests.items()))
        lines.append(
            f"| {name} | {sum(reads.requests.values())} ({apis}) | {reads.items_evaluated}"
            f" | {reads.read_units:g} | {rows} | {counted} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--period", type=int, default=30)
    args = parser.parse_args()
    print(render(run(args.orders, args.days, args.period), args.orders, args.period))


if __name__ == "__main__":
    main()
