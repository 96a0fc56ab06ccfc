"""What the benchmarks share: the embedded datastores, a service in its own uvicorn process, timed calls.

Imported by the bench scripts (run as `python bench/<name>.py`, so this directory is on the path).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import psutil

from pma_core.embedded import EmbeddedPostgres, EmbeddedValkey
from pma_core.embedded.process import child_setup, free_port
from pma_core.migrations import default_migrations_dir, migrate

Json = dict[str, Any]
Call = Callable[[], Awaitable[httpx.Response]]
# Settings a developer's shell may hold; the services under measurement must see only the bench's own.
_SETTING_PREFIXES = (
    "POSTGRES_", "VALKEY_", "QDRANT_", "EMBEDDING_", "MEMORY_", "MEM0_", "LLM_", "OPENROUTER_", "LOG_",
    "LANGFUSE_", "PLANNER_", "HTTP_",
)  # fmt: skip
_SERVICE_URLS = ("MEMORY_GATEWAY_URL", "PLANNER_ENGINE_URL", "SCHEDULER_ENGINE_URL", "OBSERVER_AGENT_URL")


@dataclass
class Datastores:
    postgres: EmbeddedPostgres
    valkey: EmbeddedValkey
    # The environment of the services: the shell's, minus its pma settings, plus the datastores'.
    env: dict[str, str]

    def stop(self) -> None:
        self.valkey.stop()
        self.postgres.stop()


def start_datastores(root: Path) -> Datastores:
    """Postgres (database `pma`, migrated) and Valkey in `root`; Qdrant's directory is `root / "qdrant"`."""
    postgres = EmbeddedPostgres(root / "postgres", port=free_port())
    postgres.start()
    asyncio.run(create_database(postgres.url(), "pma"))
    asyncio.run(migrate(postgres.url("pma"), default_migrations_dir()))
    valkey = EmbeddedValkey(root / "valkey", port=free_port())
    valkey.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTING_PREFIXES) and k not in _SERVICE_URLS}
    env |= {
        "POSTGRES_URL": postgres.url("pma"),
        "VALKEY_URL": valkey.url(),
        "QDRANT_PATH": str(root / "qdrant"),
        "EMBEDDING_PROVIDER": "hashing",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    return Datastores(postgres, valkey, env)


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def ready_without(dependency: str) -> Callable[[httpx.Response], bool]:
    """A /readyz answer whose every dependency but `dependency` is ok: a service run against a
    dependency that is down on purpose (the gateway's Qdrant in memory_footprint.py --deployed)."""

    def ready(response: httpx.Response) -> bool:
        if response.status_code not in (200, 503):
            return False
        others = [d for d in response.json()["dependencies"] if d["name"] != dependency]
        return all(d["status"] == "ok" for d in others)

    return ready


def _answers_200(response: httpx.Response) -> bool:
    return response.status_code == 200


def start_service(
    factory: str,
    *,
    port: int,
    env: dict[str, str],
    root: Path,
    log_name: str,
    profile: Path | None,
    timeout: float,
    ready: Callable[[httpx.Response], bool] | None = None,
) -> subprocess.Popen[bytes]:
    """`uvicorn --factory FACTORY` on 127.0.0.1:PORT (under cProfile when `profile` names a file), once
    its /readyz answer is `ready` (200, unless told otherwise)."""
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += ["-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    log = (root / log_name).open("ab")
    # cwd: the temporary directory, so a developer's .env cannot change what is measured.
    process = subprocess.Popen(
        command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, preexec_fn=child_setup(None)
    )
    log.close()
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{factory} exited with {process.returncode}; see {log.name}")
            try:
                if (ready or _answers_200)(client.get("/readyz")):
                    return process
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"{factory} was not ready after {timeout:.0f} s")


@dataclass(frozen=True)
class Timed:
    latencies_ms: list[float]
    seconds: float
    # The JSON answers, in call order, when `timed(..., keep=True)`; else empty.
    answers: list[Json]

    def percentiles(self, minus: float = 0.0) -> tuple[float, float, float]:
        p50, p95, p99 = np.percentile(np.array(self.latencies_ms) - minus, [50, 95, 99])
        return float(p50), float(p95), float(p99)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds


async def timed(calls: Sequence[Call], *, concurrency: int, keep: bool = False) -> Timed:
    """Run every call once, `concurrency` at a time, timing each; any non-2xx answer stops the bench."""
    pending: Iterator[tuple[int, Call]] = iter(enumerate(calls))
    latencies = [0.0] * len(calls)
    answers: list[Json] = [{} for _ in calls]

    async def worker() -> None:
        for index, call in pending:  # shared iterator: each call is taken by exactly one worker
            started = time.perf_counter()
            response = await call()
            latencies[index] = (time.perf_counter() - started) * 1000
            if response.is_error:
                raise RuntimeError(f"{response.request.url} answered {response.status_code}: {response.text[:500]}")
            if keep:
                answers[index] = response.json()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Timed(latencies, time.perf_counter() - started, answers if keep else [])


def post(client: httpx.AsyncClient, path: str, body: Json) -> Call:
    return lambda: client.post(path, json=body)


def cpu_seconds(gateway_pid: int) -> dict[str, float]:
    """CPU time (user + system) used so far by this benchmark's processes, by role: the service under
    measurement, Postgres (its server and backends), Valkey, and this load generator, which shares the
    cores with them. A backend that exits between two readings takes its time with it (pools keep theirs)."""
    totals = dict.fromkeys(("service", "postgres", "valkey", "client"), 0.0)
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            times, name = process.cpu_times(), process.name()
        except psutil.Error:
            continue
        role = (
            "client" if process.pid == me.pid
            else "service" if process.pid == gateway_pid
            else "postgres" if name.startswith("postgres")
            else "valkey" if "valkey" in name
            else None
        )  # fmt: skip
        if role is not None:
            totals[role] += times.user + times.system
    return totals


def machine_note(started: float, load_before: float) -> str:
    """The run's last line: other processes on the machine skew every figure, the load average says how busy
    it was (`started` from time.perf_counter, `load_before` from os.getloadavg, both taken at the start)."""
    return (
        f"total {time.perf_counter() - started:.0f}s on {os.cpu_count()} CPUs; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]
