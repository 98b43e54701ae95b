"""Child process of the start-up section: import one target, print what it cost as JSON.

Run as `python -P bench/importprobe.py boto3|<path to app.py>` in a fresh interpreter. Prints
the import's seconds (wall and CPU), the process's peak RSS in KiB after it, and the standard
library source files loaded (so the parent can precompile exactly those for the no-.pyc runs).
With `_HANDLER=app.<name>` in the environment (as Lambda sets it) the app imports what that
function needs (clientela.functions); the probe says whether the name resolves as on Lambda.
`--functions <path to app.py>` prints instead the name of each Lambda function the app defines.
"""

import importlib.util
import json
import os
import resource
import sys
import sysconfig
import time


def _import(target: str) -> object:
    if target == "boto3":
        import boto3  # noqa: PLC0415

        return boto3
    spec = importlib.util.spec_from_file_location("app", target)  # Lambda's handler is app.app
    if spec is None or spec.loader is None:
        raise ImportError(target)
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module


def _functions(target: str) -> list[str]:
    """Each Lambda function `chalice package` makes of the app: its name in app.py."""
    app = getattr(_import(target), "app")  # noqa: B009 - the Chalice app of app.py
    handlers = [
        *(config.handler_string for config in app.builtin_auth_handlers),
        *(config.handler_string for config in app.event_sources),
        *(function.handler_string for function in app.pure_lambda_functions),
    ]
    return ["app"] * bool(app.routes) + [handler.rpartition(".")[2] for handler in handlers]


def main() -> None:
    if sys.argv[1] == "--functions":
        print(json.dumps(_functions(sys.argv[2])))
        return
    started, cpu_started = time.perf_counter(), time.process_time()
    module = _import(sys.argv[1])
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    handler = os.environ.get("_HANDLER", "").rpartition(".")[2]
    stdlib = sysconfig.get_paths()["stdlib"]
    files = {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                # Lambda fails a function whose handler is not a name of the module.
                "handler_found": not handler or callable(getattr(module, handler, None)),
                "stdlib": sorted(f for f in files if f.startswith(stdlib) and f.endswith(".py")),
            }
        )
    )


if __name__ == "__main__":
    main()
