"""Loading the four Chalice apps into one process.

Each `services/<svc>/app.py` is loaded by file path under the module name `clientela_<svc>_app`
(they are all called `app.py`, so `import app` would pick one at random). `chalicelib` is a
namespace package spread over the four service folders.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from chalice.config import Config

log = logging.getLogger(__name__)

SERVICES = ("customers", "automation", "credits", "exports")
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LoadedApp:
    service: str
    module: ModuleType
    app: Any  # chalice.Chalice (chalice ships no type information)
    config: Config
    # One invocation at a time per app, as in a single Lambda execution environment: Chalice
    # keeps `app.current_request` on the app object, and Powertools keeps per-invocation state in
    # module globals, so two threads inside one app would read each other's request.
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def memory_mb(self) -> int:
        return int(self.config.lambda_memory_size or 128)

    @property
    def timeout_seconds(self) -> float:
        return float(self.config.lambda_timeout or 60)

    def invoke(self, handler_name: str, event: dict[str, Any], context: Any) -> Any:
        """Calls an event handler the way Lambda does: raw event dict plus context."""
        handler = getattr(self.module, handler_name)
        with self.lock:
            return handler(event, context)


def load_apps(root: Path = REPO_ROOT, services: tuple[str, ...] = SERVICES) -> list[LoadedApp]:
    """Imports every service app that exists.

    Loading again in the same process (a second stack) imports them afresh, so module-level
    state cannot point at the previous stack's moto server.
    """
    if any(_is_app_module(name) for name in sys.modules):
        _forget_loaded_service_code()
    forget_aws_clients()
    loaded = []
    for service in services:
        service_dir = root / "services" / service
        path = service_dir / "app.py"
        if not path.is_file():
            log.warning("services/%s/app.py does not exist yet: not serving it", service)
            continue
        if str(service_dir) not in sys.path:
            sys.path.append(str(service_dir))
        module_name = f"clientela_{service}_app"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        loaded.append(LoadedApp(service, module, module.app, _chalice_config(service_dir)))
    return loaded


def _chalice_config(service_dir: Path) -> Config:
    """The app's `.chalice/config.json`, so memory and timeout match what gets deployed."""
    path = service_dir / ".chalice" / "config.json"
    from_disk = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return Config(chalice_stage="dev", config_from_disk=from_disk)


def _is_app_module(name: str) -> bool:
    return name.startswith("clientela_") and name.endswith("_app")


def _forget_loaded_service_code() -> None:
    for name in list(sys.modules):
        if _is_app_module(name) or name == "chalicelib" or name.startswith("chalicelib."):
            del sys.modules[name]


def forget_aws_clients() -> None:
    """Drops the shared lib's cached boto3 clients: they hold the endpoint they were made with."""
    try:
        from clientela import aws  # noqa: PLC0415 - the shared lib may not be importable yet
    except ImportError:
        return
    aws.reset()
