"""Runs and what they need in DynamoDB (the flows table). Nothing here has a store-wide key that
takes per-customer writes.

Per customer, `pk=CUST#<store>#<customer>`:
- `sk=FLOW#<flow>`: the customer's membership of a flow: the current run, when it entered, the
  trigger's time (a newer trigger supersedes), whether it ended. The one place a run starts.
- `sk=SEEN#<event type>`: when the customer last did it (exits and "did X since entering").
- `sk=CART`: the cart, line by line, from `cart.updated` (read fresh at every send).
- `sk=SMART`: the last marketing e-mail a flow sent them (smart sending, a conditional write).
- `sk=WAIT#<event type>#<run>`: a run waiting for that event.
- `sk=RUN#<run>`: every run the customer entered (its flow and entry), so a privacy request
  finds the runs a newer membership no longer names.

Per run, `pk=RUN#<store>#<run>`:
- `sk=RUN`: flow, version, customer, entry, status and why it ended;
- `sk=STEP#<seq>`: each decision, recorded once (a redelivered task answers the same);
- `sk=TIMER`: the parked task token and when it is due; on the `due` index under
  `gpk=DUE#<0..15>` (a hash of the run), `gsk=<due>#<store>#<run>`: the clock's job reads each
  shard up to now. Deleting the item is the claim: whoever deletes it resumes the run, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.automation.runs.rules import DATE_SHARDS, shard_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DUE_INDEX = "due"
DUE_SHARDS = 16


def _failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


def customer_pk(store_id: str, customer_id: str) -> dict[str, str]:
    return {"S": f"CUST#{store_id}#{customer_id}"}


def run_pk(store_id: str, run_id: str) -> dict[str, str]:
    return {"S": f"RUN#{store_id}#{run_id}"}


@dataclass(frozen=True)
class Membership:
    run_id: str
    trigger_at: datetime
    entered_at: datetime
    active: bool


@dataclass(frozen=True)
class Run:
    store_id: str
    run_id: str
    flow_id: str
    version: int
    customer_id: str
    entered_at: datetime
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class Timer:
    store_id: str
    run_id: str
    token: str
    due: datetime
    state: dict[str, Any]


@dataclass(frozen=True)
class FanoutJob:
    """A scheduled flow's occurrence and how far its fan-out is: shard -> (done, runs started),
    for the shards a page has reached."""

    occurrence: datetime
    version: int
    opened_at: datetime
    shards: dict[int, tuple[bool, int]]


@dataclass(frozen=True)
class CartLine:
    product_id: str
    sku: str
    name: str
    quantity: int
    price: Decimal | None
    currency: str | None
    at: datetime


class RunStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    # Membership: where a run starts ------------------------------------------------------

    def membership(self, store_id: str, customer_id: str, flow_id: str) -> Membership | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": customer_pk(store_id, customer_id), "sk": {"S": f"FLOW#{flow_id}"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return Membership(
            run_id=item["run_id"]["S"],
            trigger_at=datetime.fromisoformat(item["trigger_at"]["S"]),
            entered_at=datetime.fromisoformat(item["entered_at"]["S"]),
            active=item["active"]["BOOL"],
        )

    def enter(
        self,
        run: Run,
        *,
        trigger_at: datetime,
        replacing: str | None,
        trigger_object: str,
    ) -> bool:
        """The customer enters the flow with `run`, replacing the membership whose run was
        `replacing` (None: there was none). False if another start got there first."""
        membership = {
            "pk": customer_pk(run.store_id, run.customer_id),
            "sk": {"S": f"FLOW#{run.flow_id}"},
            "run_id": {"S": run.run_id},
            "trigger_at": {"S": trigger_at.isoformat()},
            "entered_at": {"S": run.entered_at.isoformat()},
            "active": {"BOOL": True},
        }
        condition: dict[str, Any]
        if replacing is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "run_id = :old",
                "ExpressionAttributeValues": {":old": {"S": replacing}},
            }
        run_item = {
            "pk": run_pk(run.store_id, run.run_id),
            "sk": {"S": "RUN"},
            "flow_id": {"S": run.flow_id},
            "version": {"N": str(run.version)},
            "customer_id": {"S": run.customer_id},
            "entered_at": {"S": run.entered_at.isoformat()},
            "trigger_object": {"S": trigger_object},
            "status": {"S": "active"},
        }
        run_ref = {
            "pk": customer_pk(run.store_id, run.customer_id),
            "sk": {"S": f"RUN#{run.run_id}"},
            "flow_id": {"S": run.flow_id},
            "entered_at": {"S": run.entered_at.isoformat()},
        }
        put_membership: Any = {"TableName": self._table, "Item": membership, **condition}
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {"Put": put_membership},
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": run_item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self._table, "Item": run_ref}},
                ]
            )
        except ClientError as exc:
            if _failed(exc):
                return False
            raise
        return True

    def get_run(self, store_id: str, run_id: str) -> Run | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": run_pk(store_id, run_id), "sk": {"S": "RUN"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return Run(
            store_id=store_id,
            run_id=run_id,
            flow_id=item["flow_id"]["S"],
            version=int(item["version"]["N"]),
            customer_id=item["customer_id"]["S"],
            entered_at=datetime.fromisoformat(item["entered_at"]["S"]),
            status=item["status"]["S"],
            reason=item.get("reason", {}).get("S"),
        )

    def end(self, run: Run, reason: str) -> None:
        """The run is over: its status, and its membership no longer active (if still its)."""
        self._db.update_item(
            TableName=self._table,
            Key={"pk": run_pk(run.store_id, run.run_id), "sk": {"S": "RUN"}},
            UpdateExpression="SET #s = :ended, reason = if_not_exists(reason, :reason)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":ended": {"S": "ended"}, ":reason": {"S": reason}},
        )
        try:
            self._db.update_item(
                TableName=self._table,
                Key={
                    "pk": customer_pk(run.store_id, run.customer_id),
                    "sk": {"S": f"FLOW#{run.flow_id}"},
                },
                UpdateExpression="SET active = :false",
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues={":false": {"BOOL": False}, ":run": {"S": run.run_id}},
            )
        except ClientError as exc:
            if not _failed(exc):
                raise

    def end_if_active(self, run: Run, reason: str) -> bool:
        """Ends the run only if it is still active: True for the one caller that ended it (so
        whatever it counts is counted once, whoever else tries)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": run_pk(run.store_id, run.run_id), "sk": {"S": "RUN"}},
                UpdateExpression="SET #s = :ended, reason = :reason",
                ConditionExpression="#s = :active",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":ended": {"S": "ended"},
                    ":reason": {"S": reason},
                    ":active": {"S": "active"},
                },
            )
        except ClientError as exc:
            if not _failed(exc):
                raise
            return False
        self.end(run, reason)  # the membership; the status is already set
        return True

    # Decisions -----------------------------------------------------------------------------

    def decision(self, store_id: str, run_id: str, seq: int) -> dict[str, Any] | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": run_pk(store_id, run_id), "sk": {"S": f"STEP#{seq:05d}"}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else json.loads(item["output"]["S"])

    def record_decision(
        self, store_id: str, run_id: str, seq: int, output: dict[str, Any], outcome: str
    ) -> tuple[dict[str, Any], bool]:
        """Records the decision once: (what is recorded, whether it is this one). A concurrent
        or earlier one wins."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": run_pk(store_id, run_id),
                    "sk": {"S": f"STEP#{seq:05d}"},
                    "step_id": {"S": str(output.get("decided", ""))},
                    "outcome": {"S": outcome},
                    "output": {"S": json.dumps(output)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not _failed(exc):
                raise
            return self.decision(store_id, run_id, seq) or output, False
        return output, True

    def decisions(self, store_id: str, run_id: str) -> list[tuple[str, str]]:
        """(step id, outcome) of every decision of the run, in order."""
        page = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :step)",
            ExpressionAttributeValues={":pk": run_pk(store_id, run_id), ":step": {"S": "STEP#"}},
            ConsistentRead=True,
        )
        return [(item["step_id"]["S"], item["outcome"]["S"]) for item in page.get("Items", [])]

    def steps(self, store_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every decision of the run, in order: step, outcome and when it was decided."""
        found = []
        for item in self._items(run_pk(store_id, run_id), "STEP#"):
            output = json.loads(item["output"]["S"])
            found.append(
                {
                    "step_id": item["step_id"]["S"],
                    "outcome": item["outcome"]["S"],
                    "decided_at": output.get("now"),
                }
            )
        return found

    # Timers --------------------------------------------------------------------------------

    def park(self, timer: Timer, *, waiting_for: str | None, customer_id: str) -> None:
        """Stores the task token until `due` (and, waiting for an event, where the event finds
        it). Writing the same timer again (a redelivered task) changes nothing that matters."""
        due = timer.due.isoformat()
        shard = shard_of(timer.run_id, DUE_SHARDS)
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": run_pk(timer.store_id, timer.run_id),
                        "sk": {"S": "TIMER"},
                        "token": {"S": timer.token},
                        "due_at": {"S": due},
                        "state": {"S": json.dumps(timer.state)},
                        "gpk": {"S": f"DUE#{shard}"},
                        "gsk": {"S": f"{due}#{timer.store_id}#{timer.run_id}"},
                    },
                }
            }
        ]
        if waiting_for is not None:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": customer_pk(timer.store_id, customer_id),
                            "sk": {"S": f"WAIT#{waiting_for}#{timer.run_id}"},
                            "run_id": {"S": timer.run_id},
                        },
                    }
                }
            )
        self._db.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]

    def due_timers(self, shard: int, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """(store, run) of the timers of one shard due by `now`, oldest first."""
        page = self._db.query(
            TableName=self._table,
            IndexName=DUE_INDEX,
            KeyConditionExpression="gpk = :shard AND gsk <= :now",
            ExpressionAttributeValues={
                ":shard": {"S": f"DUE#{shard}"},
                # '~' sorts after every character of an id: everything due at `now` included.
                ":now": {"S": f"{now.isoformat()}~"},
            },
            Limit=limit,
        )
        found = []
        for item in page.get("Items", []):
            store_id, run_id = item["pk"]["S"].removeprefix("RUN#").rsplit("#", 1)
            found.append((store_id, run_id))
        return found

    def claim_timer(self, store_id: str, run_id: str) -> Timer | None:
        """Takes the run's timer away (the one who gets it resumes the run); None if gone."""
        try:
            old = self._db.delete_item(
                TableName=self._table,
                Key={"pk": run_pk(store_id, run_id), "sk": {"S": "TIMER"}},
                ConditionExpression="attribute_exists(#t)",
                ExpressionAttributeNames={"#t": "token"},
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        except ClientError as exc:
            if _failed(exc):
                return None
            raise
        if not old:
            return None
        return Timer(
            store_id,
            run_id,
            old["token"]["S"],
            datetime.fromisoformat(old["due_at"]["S"]),
            json.loads(old["state"]["S"]),
        )

    def waiting(self, store_id: str, customer_id: str, event_type: str) -> list[str]:
        page = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :wait)",
            ExpressionAttributeValues={
                ":pk": customer_pk(store_id, customer_id),
                ":wait": {"S": f"WAIT#{event_type}#"},
            },
        )
        return [item["run_id"]["S"] for item in page.get("Items", [])]

    def stop_waiting(self, store_id: str, customer_id: str, event_type: str, run_id: str) -> None:
        self._db.delete_item(
            TableName=self._table,
            Key={
                "pk": customer_pk(store_id, customer_id),
                "sk": {"S": f"WAIT#{event_type}#{run_id}"},
            },
        )

    # Everything of one customer (privacy requests) ----------------------------------------

    def _items(self, pk: dict[str, str], prefix: str = "") -> list[dict[str, Any]]:
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values: dict[str, Any] = {":pk": pk, **({":prefix": {"S": prefix}} if prefix else {})}
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
        return [item for page in pages for item in page.get("Items", [])]

    def customer_runs(self, store_id: str, customer_id: str) -> list[str]:
        """The runs the customer entered: their run references, and the memberships' runs (a
        run entered before references were kept)."""
        found: dict[str, None] = {}
        for item in self._items(customer_pk(store_id, customer_id)):
            sk = item["sk"]["S"]
            if sk.startswith("RUN#"):
                found[sk.removeprefix("RUN#")] = None
            elif sk.startswith("FLOW#") and "run_id" in item:
                found[item["run_id"]["S"]] = None
        return list(found)

    def delete_run(self, store_id: str, run_id: str) -> int:
        """Deletes the run's items (the run, its decisions, its timer); how many there were.
        A decision still to come finds no run and ends it."""
        items = self._items(run_pk(store_id, run_id))
        for item in items:
            self._db.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
        return len(items)

    def delete_customer_items(self, store_id: str, customer_id: str) -> int:
        """Deletes every item under the customer's key (memberships, SEEN#, CART, SMART,
        WAIT#, run references, the last touch) and their date-index entries; how many."""
        items = self._items(customer_pk(store_id, customer_id))
        for item in items:
            self._db.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
        dates = self.dates(store_id, customer_id)
        if dates:
            self.forget_dates(store_id, customer_id)
        filed = sum(1 for name in ("birthday", "signed_up_at", "last_order_at") if name in dates)
        return len(items) + (1 + filed if dates else 0)

    # What the customer did ---------------------------------------------------------------

    def saw(self, store_id: str, customer_id: str, event_type: str, at: datetime) -> None:
        """The customer did `event_type` at `at` (kept: the latest)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": customer_pk(store_id, customer_id), "sk": {"S": f"SEEN#{event_type}"}},
                UpdateExpression="SET #at = :at",
                ConditionExpression="attribute_not_exists(#at) OR #at < :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": {"S": at.isoformat()}},
            )
        except ClientError as exc:
            if not _failed(exc):
                raise

    def last_seen(
        self, store_id: str, customer_id: str, event_types: list[str]
    ) -> dict[str, datetime]:
        if not event_types:
            return {}
        page = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :seen)",
            ExpressionAttributeValues={
                ":pk": customer_pk(store_id, customer_id),
                ":seen": {"S": "SEEN#"},
            },
            ConsistentRead=True,
        )
        found = {}
        for item in page.get("Items", []):
            event_type = item["sk"]["S"].removeprefix("SEEN#")
            if event_type in event_types:
                found[event_type] = datetime.fromisoformat(item["at"]["S"])
        return found

    def update_cart(self, store_id: str, customer_id: str, line: CartLine) -> None:
        """One line of the cart, unless a newer update of that line is held (0: removed)."""
        key = {"pk": customer_pk(store_id, customer_id), "sk": {"S": "CART"}}
        value = {
            "M": {
                "sku": {"S": line.sku},
                "name": {"S": line.name},
                "quantity": {"N": str(line.quantity)},
                "at": {"S": line.at.isoformat()},
                **({"price": {"S": str(line.price)}} if line.price is not None else {}),
                **({"currency": {"S": line.currency}} if line.currency else {}),
            }
        }
        names = {"#lines": "lines", "#p": line.product_id}
        try:
            self._db.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET #lines = if_not_exists(#lines, :empty)",
                ExpressionAttributeNames={"#lines": "lines"},
                ExpressionAttributeValues={":empty": {"M": {}}},
            )
            self._db.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET #lines.#p = :line",
                ConditionExpression="attribute_not_exists(#lines.#p) OR #lines.#p.#at < :at",
                ExpressionAttributeNames={**names, "#at": "at"},
                ExpressionAttributeValues={":line": value, ":at": {"S": line.at.isoformat()}},
            )
        except ClientError as exc:
            if not _failed(exc):
                raise

    def cart(self, store_id: str, customer_id: str) -> list[CartLine]:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": customer_pk(store_id, customer_id), "sk": {"S": "CART"}},
            ConsistentRead=True,
        ).get("Item")
        lines = []
        for product_id, value in (item or {}).get("lines", {}).get("M", {}).items():
            line = value["M"]
            quantity = int(line["quantity"]["N"])
            if quantity <= 0:
                continue
            lines.append(
                CartLine(
                    product_id=product_id,
                    sku=line["sku"]["S"],
                    name=line["name"]["S"],
                    quantity=quantity,
                    price=Decimal(line["price"]["S"]) if "price" in line else None,
                    currency=line["currency"]["S"] if "currency" in line else None,
                    at=datetime.fromisoformat(line["at"]["S"]),
                )
            )
        return sorted(lines, key=lambda line: line.at)

    # Smart sending -------------------------------------------------------------------------

    def reserve_marketing(
        self, store_id: str, customer_id: str, *, now: datetime, since: datetime, owner: str
    ) -> bool:
        """Takes the customer's marketing slot at `now` unless a send after `since` holds it.
        One conditional write: two flows deciding at once cannot both get it. The same owner
        (a redelivered decision) holds it already."""
        key = {"pk": customer_pk(store_id, customer_id), "sk": {"S": "SMART"}}
        try:
            self._db.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=(
                    "SET last_at = :now, #o = :owner, previous_at = if_not_exists(last_at, :none)"
                ),
                ConditionExpression="attribute_not_exists(last_at) OR last_at <= :since",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":now": {"S": now.isoformat()},
                    ":since": {"S": since.isoformat()},
                    ":owner": {"S": owner},
                    ":none": {"S": ""},
                },
            )
        except ClientError as exc:
            if not _failed(exc):
                raise
            item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True)
            return item.get("Item", {}).get("owner", {}).get("S") == owner
        return True

    def release_marketing(self, store_id: str, customer_id: str, owner: str) -> None:
        """Gives the slot back (the send was skipped): the previous send counts again."""
        key = {"pk": customer_pk(store_id, customer_id), "sk": {"S": "SMART"}}
        try:
            self._db.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET last_at = previous_at REMOVE #o",
                ConditionExpression="#o = :owner AND previous_at <> :none",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}, ":none": {"S": ""}},
            )
            return
        except ClientError as exc:
            if not _failed(exc):
                raise
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=key,
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if not _failed(exc):
                raise

    # Date triggers: a sharded index of customers by date ---------------------------------

    def _dates_key(self, store_id: str, customer_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"DATES#{store_id}#{customer_id}"}, "sk": {"S": "DATES"}}

    def dates(self, store_id: str, customer_id: str) -> dict[str, str]:
        """The customer's filed dates (`birthday`, `signed_up_at`, `last_order_at`: index keys)
        and `version`, the profile version they come from."""
        item = self._db.get_item(
            TableName=self._table, Key=self._dates_key(store_id, customer_id), ConsistentRead=True
        ).get("Item", {})
        return {
            name: str(value.get("S", value.get("N")))
            for name, value in item.items()
            if name not in ("pk", "sk")
        }

    def _entry_key(
        self, store_id: str, date_property: str, key: str, customer_id: str
    ) -> dict[str, Any]:
        shard = shard_of(customer_id, DATE_SHARDS)
        return {
            "pk": {"S": f"DATE#{store_id}#{date_property}#{key}#{shard}"},
            "sk": {"S": customer_id},
        }

    def file_dates(
        self,
        store_id: str,
        customer_id: str,
        current: dict[str, str],
        wanted: dict[str, str | None],
        version: int | None,
    ) -> None:
        """Moves the customer's index entries from `current` to `wanted` in one transaction,
        only if their dates are still `current` (a concurrent change fails it: the event is
        retried and re-read). None removes the date."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, removes, conditions = [], [], []
        writes: list[dict[str, Any]] = []
        for index, (name, key) in enumerate(wanted.items()):
            old = current.get(name)
            names[f"#d{index}"] = name
            if old is None:
                conditions.append(f"attribute_not_exists(#d{index})")
            else:
                values[f":o{index}"] = {"S": old}
                conditions.append(f"#d{index} = :o{index}")
            if old == key:
                continue
            if key is None:
                removes.append(f"#d{index}")
            else:
                values[f":n{index}"] = {"S": key}
                sets.append(f"#d{index} = :n{index}")
            if old is not None:
                key_of_old = self._entry_key(store_id, name, old, customer_id)
                writes.append({"Delete": {"TableName": self._table, "Key": key_of_old}})
            if key is not None:
                item = self._entry_key(store_id, name, key, customer_id)
                writes.append({"Put": {"TableName": self._table, "Item": item}})
        if version is not None:
            names["#v"] = "version"
            values[":v"] = {"N": str(version)}
            sets.append("#v = :v")
            conditions.append("(attribute_not_exists(#v) OR #v < :v)")
        if not writes and version is None:
            return
        expression = ("SET " + ", ".join(sets) if sets else "") + (
            " REMOVE " + ", ".join(removes) if removes else ""
        )
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._dates_key(store_id, customer_id),
            "UpdateExpression": expression.strip(),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
        }
        if values:
            update["ExpressionAttributeValues"] = values
        self._db.transact_write_items(TransactItems=[{"Update": update}, *writes])  # type: ignore[typeddict-item,list-item]

    def forget_dates(self, store_id: str, customer_id: str) -> None:
        current = self.dates(store_id, customer_id)
        writes: list[dict[str, Any]] = [
            {"Delete": {"TableName": self._table, "Key": self._dates_key(store_id, customer_id)}}
        ]
        for name in ("birthday", "signed_up_at", "last_order_at"):
            if name in current:
                key = self._entry_key(store_id, name, current[name], customer_id)
                writes.append({"Delete": {"TableName": self._table, "Key": key}})
        self._db.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]

    def filed(self, store_id: str, date_property: str, key: str, shard: int) -> list[str]:
        """The customers filed under one date key, one shard (every page)."""
        found: list[str] = []
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={
                ":pk": {"S": f"DATE#{store_id}#{date_property}#{key}#{shard}"}
            },
            ProjectionExpression="sk",
        )
        for page in pages:
            found.extend(item["sk"]["S"] for item in page.get("Items", []))
        return found

    def _tick_key(self, store_id: str, flow_id: str, day: str) -> dict[str, Any]:
        return {"pk": {"S": f"DATETICK#{store_id}#{flow_id}"}, "sk": {"S": day}}

    def done_shards(self, store_id: str, flow_id: str, day: str) -> set[int]:
        item = self._db.get_item(
            TableName=self._table, Key=self._tick_key(store_id, flow_id, day)
        ).get("Item", {})
        return {int(n) for n in item.get("done", {}).get("NS", [])}

    def shard_done(self, store_id: str, flow_id: str, day: str, shard: int) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=self._tick_key(store_id, flow_id, day),
            UpdateExpression="ADD done :s",
            ExpressionAttributeValues={":s": {"NS": [str(shard)]}},
        )

    # Scheduled flows' fan-out: one job per (flow, occurrence), `pk=FANOUT#<store>#<flow>#<at>`:
    # `sk=JOB` (the flow version it started on, when), `sk=SHARD#<nn>` per contacts shard: the
    # last customer id done (`last_id`), whether the shard is `done`, how many runs it `started`;
    # listed per flow under `pk=FANOUTS#<store>#<flow>`, `sk=<at>` (GET /flows/{id}/occurrences).
    # The cursor moves only from the value a page was read at, so a redelivered page message
    # moves nothing and starts nothing new (its runs are duplicates by name).

    def _fanout_pk(self, store_id: str, flow_id: str, occurrence: str) -> dict[str, str]:
        return {"S": f"FANOUT#{store_id}#{flow_id}#{occurrence}"}

    def _shard_key(
        self, store_id: str, flow_id: str, occurrence: str, shard: int
    ) -> dict[str, dict[str, str]]:
        return {
            "pk": self._fanout_pk(store_id, flow_id, occurrence),
            "sk": {"S": f"SHARD#{shard:02d}"},
        }

    def open_fanout(
        self, store_id: str, flow_id: str, occurrence: str, version: int, at: datetime
    ) -> bool:
        """The job of one occurrence; False when it was opened before (a repeated tick)."""
        # Listed under the flow (`pk=FANOUTS#<store>#<flow>`, `sk=<occurrence>`: one write per
        # occurrence, admin rate) for GET /flows/{id}/occurrences; put again by a repeated tick,
        # so a tick that died after the job was opened still lists it.
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"FANOUTS#{store_id}#{flow_id}"},
                "sk": {"S": occurrence},
                "version": {"N": str(version)},
            },
        )
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": self._fanout_pk(store_id, flow_id, occurrence),
                    "sk": {"S": "JOB"},
                    "version": {"N": str(version)},
                    "opened_at": {"S": at.isoformat()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if not _failed(error):
                raise
            return False
        return True

    def fanout_cursor(
        self, store_id: str, flow_id: str, occurrence: str, shard: int
    ) -> tuple[str | None, bool]:
        """(the last customer id done, whether the shard is done)."""
        item = self._db.get_item(
            TableName=self._table,
            Key=self._shard_key(store_id, flow_id, occurrence, shard),
            ConsistentRead=True,
        ).get("Item", {})
        after = item.get("last_id", {}).get("S")
        return (after or None), "done" in item

    def advance_fanout(
        self,
        store_id: str,
        flow_id: str,
        occurrence: str,
        shard: int,
        *,
        read_after: str | None,
        last: str | None,
        started: int,
    ) -> bool:
        """Moves the shard's cursor from where the page was read to its last id (None: the
        shard is done). False when another delivery of the same page moved it first."""
        values: dict[str, Any] = {":last": {"S": last or ""}, ":n": {"N": str(started)}}
        if read_after:
            condition = "attribute_not_exists(done) AND last_id = :read"
            values[":read"] = {"S": read_after}
        else:
            condition = "attribute_not_exists(last_id)"
        expression = "SET last_id = :last ADD started :n"
        if last is None:
            expression = "SET last_id = :last, done = :t ADD started :n"
            values[":t"] = {"BOOL": True}
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._shard_key(store_id, flow_id, occurrence, shard),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not _failed(error):
                raise
            return False
        return True

    def fanout_status(self, store_id: str, flow_id: str, occurrence: str) -> dict[str, int]:
        """How far the job of one occurrence is: shards done, runs started."""
        items = self._items(self._fanout_pk(store_id, flow_id, occurrence), "SHARD#")
        return {
            "shards_done": sum(1 for item in items if "done" in item),
            "started": sum(int(item.get("started", {}).get("N", "0")) for item in items),
        }

    def fanouts(
        self, store_id: str, flow_id: str, limit: int, before: str | None
    ) -> tuple[list[str], str | None]:
        """A page of the flow's occurrences with a fan-out job, newest first, and its last one
        when there are more (one more is read to know: no empty last page)."""
        extra: dict[str, Any] = {}
        if before is not None:
            extra["ExclusiveStartKey"] = {
                "pk": {"S": f"FANOUTS#{store_id}#{flow_id}"},
                "sk": {"S": before},
            }
        page = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"FANOUTS#{store_id}#{flow_id}"}},
            ScanIndexForward=False,
            Limit=limit + 1,
            **extra,
        )
        keys = [item["sk"]["S"] for item in page.get("Items", [])]
        return keys[:limit], (keys[limit - 1] if len(keys) > limit else None)

    def fanout(self, store_id: str, flow_id: str, occurrence: str) -> FanoutJob | None:
        """The job of one occurrence and each shard's progress (None: no such job)."""
        items = self._items(self._fanout_pk(store_id, flow_id, occurrence))
        job = next((item for item in items if item["sk"]["S"] == "JOB"), None)
        if job is None:
            return None
        shards = {
            int(item["sk"]["S"].removeprefix("SHARD#")): (
                "done" in item,
                int(item.get("started", {}).get("N", "0")),
            )
            for item in items
            if item["sk"]["S"].startswith("SHARD#")
        }
        return FanoutJob(
            occurrence=datetime.fromisoformat(occurrence),
            version=int(job["version"]["N"]),
            opened_at=datetime.fromisoformat(job["opened_at"]["S"]),
            shards=shards,
        )
