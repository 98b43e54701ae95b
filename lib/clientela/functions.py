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
"""

from __future__ import annotations

import os

API = "app"  # Chalice's API handler: `app.app`, the one function that serves every route
AUTHORIZER = "token_authorizer"  # clientela.auth.install_authorizer's function


def current() -> str | None:
    """The name in `app.py` of the function this Lambda runs; None off Lambda."""
    module, _, name = os.environ.get("_HANDLER", "").rpartition(".")
    return name if module == "app" and name else None


def serves(*names: str) -> bool:
    """Whether this process runs one of these functions (off Lambda: all of them)."""
    running = current()
    return running is None or running in names
