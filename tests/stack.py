"""The running local stack, as end-to-end and browser tests drive it: one subprocess
`python -m clientela_local` per session and pytest worker, spoken to over real HTTP."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import requests

from clientela import auth

REPO_ROOT = Path(__file__).resolve().parents[1]
ALL = auth.ALL_SCOPES
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class RunningStack:
    base_url: str

    def token(self, store: str, scopes: Iterable[str] = ALL, ttl_seconds: int = 3600) -> str:
        return auth.issue_token(store, scopes, auth.LOCAL_DEVELOPMENT_KEY, ttl_seconds)

    def headers(self, store: str, scopes: Iterable[str] = ALL) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(store, scopes)}"}

    def wait_idle(self, timeout: float = 30) -> None:
        """Returns once every queue and stream is drained and no handler runs (no sleeping)."""
        response = requests.post(
            f"{self.base_url}/_local/wait-idle", params={"timeout": timeout}, timeout=timeout + 10
        )
        assert response.status_code == 204, response.text

    def advance_clock(self, seconds: float) -> list[str]:
        """Moves the stack's clock forward; returns the scheduled rules that fired."""
        response = requests.post(
            f"{self.base_url}/_local/clock/advance", params={"seconds": seconds}, timeout=30
        )
        assert response.status_code == 200, response.text
        fired: list[str] = response.json()["fired"]
        return fired

    def clock_now(self) -> datetime:
        """The stack's time: real time plus every advance so far (the session shares one)."""
        response = requests.post(
            f"{self.base_url}/_local/clock/advance", params={"seconds": 0}, timeout=30
        )
        assert response.status_code == 200, response.text
        return datetime.fromisoformat(response.json()["now"])


@contextlib.contextmanager
def running_stack(log_dir: Path) -> Iterator[RunningStack]:
    """Starts the stack (no demo data) on a free port; stops it cleanly (as Ctrl-C does) after."""
    port = _free_port()
    log_path = log_dir / "stack.log"
    command = [sys.executable, "-m", "clientela_local", "--port", str(port), "--no-seed"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, process, log_path)
        yield RunningStack(base_url)
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends: the stack stops cleanly
        code: int | None
        try:
            code = process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
    assert code == 0, f"the stack did not stop cleanly ({code}):\n{_tail(log_path)}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the stack exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            if requests.get(f"{base_url}/health", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or still starting on a loaded machine: ask again
        time.sleep(0.2)  # polling for start-up, bounded by the deadline
    pytest.fail(f"no /health after {START_TIMEOUT_SECONDS}s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def require_xdist_group(request: pytest.FixtureRequest, group: str) -> None:
    """Fails a test that xdist did not schedule in its group.

    Under `--dist loadgroup` a group's tests run on one worker, so its stack starts once. When the
    group is lost (xdist 3.8 with pytest 9.2 drops it silently) every worker starts every stack,
    and the suite runs at half speed while still passing: this makes that loud instead.
    """
    if getattr(request.config.option, "loadgroup", False) and not request.node.nodeid.endswith(
        f"@{group}"
    ):
        pytest.fail(f"{request.node.nodeid} was not scheduled in xdist group {group!r}")
