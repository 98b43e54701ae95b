"""The local AWS: moto's server, with DynamoDB's atomicity and a transaction cost that scales.

DynamoDB applies each conditional write and each transaction atomically: two transactions that
both reserve one e-mail can never both succeed. moto's threaded server checks the conditions and
then applies the writes without a lock, so two requests arriving together can both pass their
checks. Serialising DynamoDB requests restores the guarantee the services are written against
(other services keep moto's own concurrency).

moto also backs every TransactWriteItems with a deep copy of each table it touches, stream
included, so a transaction costs time in proportion to everything the table ever held: seeding a
few hundred customers took minutes. `install_checked_transactions` replaces that with what
DynamoDB does: check every condition first, then apply every write, undoing only the items
touched if a write fails midway. Under the lock above nothing can interleave between the two.

Every local server starts here: `make run`, the tests and the benchmarks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SERIALISED_TARGETS = ("DynamoDB_", "DynamoDBStreams_")


class SerialisedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, answered in full before the next."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(_SERIALISED_TARGETS):
            return self._app(environ, start_response)
        with self._lock:
            # Drain the body inside the lock: moto computes it before returning, but a lazy
            # iterable must not escape the critical section.
            return list(self._app(environ, start_response))


_OPERATIONS = ("ConditionCheck", "Put", "Delete", "Update")


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


Planned = list[tuple[str, dict[str, Any], dict[str, Any]]]


def _plan(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Planned:
    """(operation, request, key) per action; refused like DynamoDB refuses a malformed request."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException
    planned: Planned = []
    seen: set[tuple[str, str]] = set()
    for entry in transact_items:
        if len(entry) != 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        if op_type not in _OPERATIONS:
            raise ValueError("Unsupported transaction operation")
        key = _key_of(backend, op_type, op)
        identity = (op["TableName"], str(dict(sorted(key.items()))))
        if identity in seen:
            raise MultipleTransactionsException
        seen.add(identity)
        planned.append((op_type, op, key))
    return planned


def _check(backend: DynamoDBBackend, planned: Planned) -> None:
    """Every condition against the current items; one reason per action if any fails."""
    reasons: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for _op_type, op, key in planned:
        current = backend.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        passed = condition is None or get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current)
        if passed:
            reasons.append((None, None, None))
            continue
        old = None
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)


def _apply(backend: DynamoDBBackend, planned: Planned) -> None:
    """Every write; if one fails midway, the items already written get their old state back."""
    saved = []
    for _, op, key in planned:
        item = backend.get_item(op["TableName"], key)
        saved.append((op["TableName"], key, item.to_json()["Attributes"] if item else None))
    try:
        for op_type, op, key in planned:
            if op_type == "Put":
                backend.put_item(op["TableName"], op["Item"])
            elif op_type == "Delete":
                backend.delete_item(op["TableName"], key)
            elif op_type == "Update":
                backend.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=op.get("ExpressionAttributeNames") or {},
                    expression_attribute_values=op.get("ExpressionAttributeValues") or {},
                )
    except Exception:
        for table, key, attributes in saved:
            if attributes is None:
                backend.delete_item(table, key)
            else:
                backend.put_item(table, attributes)
        raise


def _checked_transact_write_items(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> None:
    """TransactWriteItems as DynamoDB runs it: all conditions checked, then all writes applied."""
    planned = _plan(backend, transact_items)
    _check(backend, planned)
    _apply(backend, planned)


def install_checked_transactions() -> None:
    """Makes every moto DynamoDB backend in this process run transactions the checked way."""
    DynamoDBBackend.transact_write_items = _checked_transact_write_items  # type: ignore[method-assign,assignment]


class LocalAwsServer(ThreadedMotoServer):
    """moto's threaded server on the loopback interface, with `SerialisedDynamoDB` in front."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)

    def _server_entry(self) -> None:
        install_checked_transactions()
        app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def port(self) -> int:
        return self.get_host_and_port()[1]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def local_aws() -> Iterator[LocalAwsServer]:
    """A started `LocalAwsServer` on a free port, stopped on exit. Request logs are silenced."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = LocalAwsServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
