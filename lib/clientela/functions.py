"""Which Lambda function this process runs, so that an app imports only that function's code.

Every function of a Chalice app loads the same `app.py` (its handler is `app.<name>`), so an
`app.py` that imports the code of every function makes each one pay for all of them at a cold
start. An app guards each function's own imports with `serves`:

    if functions.serves(functions.API):        # the routes: only the API handler's function
        from chalicelib.x.area import routes as area_routes
    if functions.serves("on_x_event"):        # the code of one event handler
        from chalicelib.x import inbox

Lambda names the running handler in `_HANDLER`; anywhere else (tests, the local stack,
`chalice package`) there is none and `serves` is always true: everything is imported, as one
process runs every function there.

The API handler's function goes further: it imports a route module on the first request of
one of its routes. `make package` writes the app's route table (`ROUTE_TABLE` in the package:
each route's path, method, module and content types) and `clientela.api.Service.routes` then
registers stand-ins that load the module when called (see `route_table`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

API = "app"  # Chalice's API handler: `app.app`, the one function that serves every route
AUTHORIZER = "token_authorizer"  # clientela.auth.install_authorizer's function
ROUTE_TABLE = "chalicelib/route_table.json"  # under the task root, by `make package`
# Where a route table is read from instead (the start-up benchmark and its test write one).
ROUTE_TABLE_ENV = "CLIENTELA_ROUTE_TABLE"


def current() -> str | None:
    """The name in `app.py` of the function this Lambda runs; None off Lambda."""
    module, _, name = os.environ.get("_HANDLER", "").rpartition(".")
    return name if module == "app" and name else None


def serves(*names: str) -> bool:
    """Whether this process runs one of these functions (off Lambda: all of them)."""
    running = current()
    return running is None or running in names


def route_table() -> list[dict[str, Any]] | None:
    """The app's route table, in the API handler's function on Lambda; None anywhere else, or
    when the package has none (every route module is then imported while the function starts).

    Each entry: `path`, `method`, `module` (whose `register(service)` declares the route) and
    `content_types`, as `clientela.api.Service.route_table` wrote them.
    """
    if current() != API:
        return None
    given = os.environ.get(ROUTE_TABLE_ENV)
    path = Path(given) if given else Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / ROUTE_TABLE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return list(json.loads(text))
