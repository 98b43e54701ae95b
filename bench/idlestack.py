"""What an idle local stack costs: the CPU time of `python -m clientela_local --no-seed` over a
quiet window, after it has started and settled.

A probe, re-runnable: `python -m bench.idlestack` (`--settle 10 --window 30`). Every test
session runs two stacks (the e2e tests' and the browser tests'), and `make run` one: their idle
polling is paid by everything else running beside them. Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

REPO_ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(settle: float, window: float) -> float:
    """The stack's CPU seconds over `window` seconds of idleness."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, "-m", "clientela_local", "--port", str(port), "--no-seed"]
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                    break
            except (URLError, OSError):
                time.sleep(0.5)  # still starting
        time.sleep(settle)
        before = cpu_seconds(process.pid)
        time.sleep(window)
        return cpu_seconds(process.pid) - before
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after start-up")
    parser.add_argument("--window", type=float, default=30.0, help="seconds measured")
    args = parser.parse_args()
    spent = measure(args.settle, args.window)
    print(
        f"idle stack: {spent:.2f} s of CPU in {args.window:.0f} s"
        f" ({100 * spent / args.window:.0f}% of a core)"
    )


if __name__ == "__main__":
    main()
