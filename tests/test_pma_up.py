"""`pma up` as a user runs it: a real process tree, ready, then stopped by SIGTERM with no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from pma_core.embedded.process import free_port
from pma_core.migrations import default_migrations_dir

SERVICES = ["memory-gateway", "planner-engine", "scheduler-engine", "observer-agent"]


def _env(ports: dict[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "VALKEY_", "QDRANT_"))}
    for name, port in ports.items():
        env[f"{name.replace('-', '_').upper()}_URL"] = f"http://127.0.0.1:{port}"
    env["LOG_LEVEL"] = "WARNING"
    return env


def _start(data_dir: Path, ports: dict[str, int], pg_port: int, valkey_port: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pma_core.cli", "up", "--data-dir", str(data_dir)]
    command += ["--postgres-port", str(pg_port), "--valkey-port", str(valkey_port), "--ready-timeout", "90"]
    return subprocess.Popen(
        command, env=_env(ports), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line.rstrip())
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed; output:\n" + "\n".join(lines))


def _stop(process: subprocess.Popen[str]) -> tuple[int, list[str]]:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return process.returncode, output.splitlines()


@pytest.fixture
def ports() -> dict[str, int]:
    return {name: free_port() for name in SERVICES}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "pma-data"


def test_up_serves_all_four_then_stops_cleanly_and_keeps_data(data_dir: Path, ports: dict[str, int]) -> None:
    pg_port, valkey_port = free_port(), free_port()
    process = _start(data_dir, ports, pg_port, valkey_port)
    try:
        output = _read_until(process, "press Ctrl-C to stop", timeout=120)
        migrations = ", ".join(sorted(path.name for path in default_migrations_dir().glob("*.sql")))
        assert f"migrations applied: {migrations}" in output
        children = psutil.Process(process.pid).children(recursive=True)
        with httpx.Client(timeout=5) as http:
            for name, port in ports.items():
                report = http.get(f"http://127.0.0.1:{port}/readyz").json()
                assert report["service"] == name
                assert report["status"] == "ok", report
                assert any(f"http://127.0.0.1:{port}" in line for line in output)
    finally:
        code, _ = _stop(process)
    assert code == 0
    assert len(children) >= 6  # postgres (and its workers), valkey, four services
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"orphans left behind: {alive}"

    # A second run finds its data: nothing left to migrate.
    again = _start(data_dir, ports, pg_port, valkey_port)
    try:
        output = _read_until(again, "press Ctrl-C to stop", timeout=120)
        assert "migrations applied: none pending" in output
    finally:
        code, _ = _stop(again)
    assert code == 0


def test_killed_up_leaves_no_orphans(data_dir: Path, ports: dict[str, int]) -> None:
    process = _start(data_dir, ports, free_port(), free_port())
    try:
        _read_until(process, "press Ctrl-C to stop", timeout=120)
        children = psutil.Process(process.pid).children(recursive=True)
    finally:
        process.kill()  # SIGKILL: no chance to clean up; the parent-death signal must do it
        process.communicate(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == [], f"orphans left behind: {alive}"


def _loaded_after(argv: list[str]) -> tuple[str, list[str]]:
    """What `pma <argv>` printed, and which heavy modules its process had loaded when it exited."""
    code = (
        "import sys\n"
        f"sys.argv = ['pma', *{argv!r}]\n"
        "from pma_core.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('memory_gateway', 'scheduler_engine', 'fastapi', 'numpy', 'qdrant_edge')\n"
        "print('loaded:', ','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    output, _, loaded = done.stdout.rpartition("loaded:")
    return output, [name for name in loaded.strip().split(",") if name]


def test_the_supervisor_loads_no_service_code_and_the_help_lists_every_command() -> None:
    # `pma up` lives as long as the stack: the services' commands (their whole apps) stay unloaded in it.
    _, loaded = _loaded_after(["up", "--help"])
    assert loaded == []
    listing, _ = _loaded_after(["--help"])
    assert all(command in listing for command in ("up", "migrate", "collections", "demo", "reindex", "google-auth"))
