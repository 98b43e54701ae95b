"""Child process of the start-up section: import one target, print what it cost as JSON.

Run as `python -P bench/importprobe.py boto3|<path to app.py>` in a fresh interpreter. Prints
the import's seconds (perf_counter), the process's peak RSS in KiB after it, and the standard
library source files loaded (so the parent can precompile exactly those for the no-.pyc runs).
"""

import importlib.util
import json
import resource
import sys
import sysconfig
import time


def _import(target: str) -> None:
    if target == "boto3":
        import boto3  # noqa: F401, PLC0415

        return
    spec = importlib.util.spec_from_file_location("app", target)  # Lambda's handler is app.app
    if spec is None or spec.loader is None:
        raise ImportError(target)
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)


def main() -> None:
    started = time.perf_counter()
    _import(sys.argv[1])
    seconds = time.perf_counter() - started
    stdlib = sysconfig.get_paths()["stdlib"]
    files = {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "stdlib": sorted(f for f in files if f.startswith(stdlib) and f.endswith(".py")),
            }
        )
    )


if __name__ == "__main__":
    main()
