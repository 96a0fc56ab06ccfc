"""How long `pma up` takes to bring all four services to ready, and what each process holds in memory.

Runs `pma up` in a fresh data directory (cold: initdb, migrations, collections) and then again on the same
directory (warm), on free ports, and prints a table: seconds to ready, and resident memory (RSS) of each
service at idle next to the change proposal's budget.

    uv run python bench/stack_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

SERVICES = ["memory-gateway", "planner-engine", "scheduler-engine", "observer-agent"]
BUDGET_MB = {"memory-gateway": 150, "planner-engine": 200, "scheduler-engine": 150, "observer-agent": 150}
SUPERVISOR = "pma up (supervisor)"
# Issue 15's goal for the supervisor, which lives as long as the stack.
SUPERVISOR_GOAL_MB = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_once(data_dir: Path) -> tuple[float, dict[str, float]]:
    """Start `pma up`, wait for its ready line, measure RSS per service, stop it; returns (seconds, MB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "VALKEY_", "QDRANT_"))}
    for name in SERVICES:
        env[f"{name.replace('-', '_').upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    env["LOG_LEVEL"] = "WARNING"
    command = [sys.executable, "-m", "pma_core.cli", "up", "--data-dir", str(data_dir)]
    command += ["--postgres-port", str(free_port()), "--valkey-port", str(free_port())]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "press Ctrl-C to stop" in line:
            break
    else:
        raise RuntimeError("pma up exited before it was ready")
    elapsed = time.perf_counter() - started
    time.sleep(1.0)  # let start-up garbage settle before reading memory
    rss = {SUPERVISOR: psutil.Process(process.pid).memory_info().rss / 1_048_576}
    for child in psutil.Process(process.pid).children():
        cmdline = " ".join(child.cmdline())
        for name in SERVICES:
            if f"{name.replace('-', '_')}.main" in cmdline:
                rss[name] = child.memory_info().rss / 1_048_576
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    return elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs after the cold one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pma-bench-") as root:
        data_dir = Path(root) / "data"
        cold, rss = run_once(data_dir)
        warm = [run_once(data_dir)[0] for _ in range(args.runs)]
    print("| start | seconds to all four /readyz = 200 |")
    print("|---|---|")
    print(f"| cold (initdb, migrations, collections) | {cold:.2f} |")
    print(f"| warm, median of {len(warm)} | {statistics.median(warm):.2f} (min {min(warm):.2f}, max {max(warm):.2f}) |")
    print()
    print("| service | RSS at idle (MB) | budget (MB) |")
    print("|---|---|---|")
    for name in SERVICES:
        print(f"| {name} | {rss.get(name, float('nan')):.0f} | {BUDGET_MB[name]} |")
    print(f"| {SUPERVISOR} | {rss[SUPERVISOR]:.0f} | {SUPERVISOR_GOAL_MB} (issue 15's goal) |")


if __name__ == "__main__":
    main()
