"""Which Lambda function this process runs, so that an app imports only that function's code.

Every function of a Chalice app loads the same `app.py` (its handler is `app.<name>`), so an
`app.py` that imports the code of every function makes each one pay for all of them at a cold
start. An app guards a function's own imports with `serves`:

    if functions.serves(functions.API):        # the routes: only the API handler's function
        service.routes(ROUTE_MODULES)

Lambda names the running handler in `_HANDLER`; anywhere else (tests, the local stack,
`chalice package`) there is none and `serves` is always true: everything is imported, as one
process runs every function there.

An event, queue or schedule handler's code is imported with the handler's first call, not
while its function starts (`on_first_call`; off Lambda, at once):

    if TYPE_CHECKING:
        from chalicelib.x import inbox
    else:
        inbox = functions.on_first_call("chalicelib.x.inbox")

The API handler's function does the same with its routes: it imports a route module on the
first request of one of its routes. `make package` writes the app's route table (`ROUTE_TABLE`
in the package: each route's path, method, module and content types) and
`clientela.api.Service.routes` then registers stand-ins that load the module when called (see
`route_table`).
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from types import ModuleType
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


class _OnFirstCall:
    """A module's stand-in: the module is imported when one of its names is first read."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._loaded: ModuleType | None = None

    def __getattr__(self, name: str) -> Any:
        if self._loaded is None:
            self._loaded = importlib.import_module(self._module)
        return getattr(self._loaded, name)

    def __repr__(self) -> str:
        state = "loaded" if self._loaded is not None else "not loaded yet"
        return f"<module {self._module!r}, {state}>"


def on_first_call(module: str) -> Any:
    """The module holding a handler's code, for an `app.py` to hand its events over to.

    On Lambda (each function its own process) it is imported when its handler is first
    called: a function starts with the app alone (as its token authorizer does), and pays
    for its own code with its first event; a function that never calls into it (every other
    function of the app) never imports it. Off Lambda (tests, the local stack, `chalice
    package`) it is imported now: one process runs every function there, and an import error
    shows at once.
    """
    if current() is None:
        return importlib.import_module(module)
    return _OnFirstCall(module)


def load_now(value: Any) -> Any:
    """The module behind an `on_first_call` stand-in, imported now; any other value as it is.

    What a package check uses to see that a deployment zip carries every handler's code, which
    a function's start no longer imports (tests/infra/test_package.py).
    """
    if isinstance(value, _OnFirstCall):
        return importlib.import_module(value._module)
    return value
