"""`pma up`: the whole stack on loopback, from embedded defaults, as child processes of one command.

Order on start: Postgres and Valkey (embedded unless POSTGRES_URL / VALKEY_URL point elsewhere), the
database, migrations, Qdrant collections, then the four services. Order on stop is the reverse. Every
child gets a parent-death signal, so even a killed `pma up` leaves no orphans behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

from pma_core.embedded import EmbeddedPostgres, EmbeddedValkey
from pma_core.embedded.process import child_setup, stop_process
from pma_core.migrations import default_migrations_dir, migrate
from pma_core.settings import CoreSettings

SERVICES = [
    ("memory-gateway", "memory_gateway"),
    ("planner-engine", "planner_engine"),
    ("scheduler-engine", "scheduler_engine"),
    ("observer-agent", "observer_agent"),
]


@dataclass
class StackOptions:
    data_dir: Path
    host: str = "127.0.0.1"
    postgres_port: int = 54320
    valkey_port: int = 63790
    ready_timeout: float = 60.0


@dataclass
class RunningService:
    name: str
    url: str
    process: subprocess.Popen[bytes]


@dataclass
class LocalStack:
    options: StackOptions
    postgres: EmbeddedPostgres | None = None
    valkey: EmbeddedValkey | None = None
    services: list[RunningService] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def start_datastores(self) -> None:
        """Embedded Postgres and Valkey unless the environment points at existing ones."""
        self.options.data_dir.mkdir(parents=True, exist_ok=True)
        postgres_url = os.environ.get("POSTGRES_URL")
        if not postgres_url:
            self.postgres = EmbeddedPostgres(self.options.data_dir / "postgres", port=self.options.postgres_port)
            self.postgres.start()
            postgres_url = self.postgres.url("pma")
            asyncio.run(_ensure_database(self.postgres.url(), "pma"))
        valkey_url = os.environ.get("VALKEY_URL")
        if not valkey_url:
            self.valkey = EmbeddedValkey(self.options.data_dir / "valkey", port=self.options.valkey_port)
            self.valkey.start()
            valkey_url = self.valkey.url()
        self.env = {"POSTGRES_URL": postgres_url, "VALKEY_URL": valkey_url}

    def prepare(self) -> list[str]:
        """Apply migrations once here, so the four services find nothing to race over."""
        report = asyncio.run(migrate(self.env["POSTGRES_URL"], default_migrations_dir()))
        return report.applied

    def qdrant_path(self) -> Path | None:
        """Embedded Qdrant's directory, or None when QDRANT_URL points at a server."""
        if os.environ.get("QDRANT_URL"):
            return None
        return Path(os.environ.get("QDRANT_PATH", str(self.options.data_dir / "qdrant")))

    def start_services(self, settings: CoreSettings) -> None:
        for name, module in SERVICES:
            url = settings.services.url_of(name)
            port = urlsplit(url).port or 80
            env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
            qdrant_path = self.qdrant_path()
            if name == "memory-gateway" and qdrant_path is not None:
                env["QDRANT_PATH"] = str(qdrant_path)  # the only service that opens Qdrant
            command = [sys.executable, "-m", "uvicorn", "--factory", f"{module}.main:app_from_env"]
            command += ["--host", self.options.host, "--port", str(port), "--no-access-log"]
            process = subprocess.Popen(command, env=env, preexec_fn=child_setup(None))
            self.services.append(RunningService(name, url, process))

    def wait_ready(self) -> dict[str, float]:
        """Poll every /readyz until each answers 200; returns seconds to ready per service."""
        started = time.monotonic()
        ready: dict[str, float] = {}
        with httpx.Client(timeout=2.0) as client:
            while len(ready) < len(self.services):
                self._raise_if_exited()
                if time.monotonic() - started > self.options.ready_timeout:
                    missing = [s.name for s in self.services if s.name not in ready]
                    raise TimeoutError(f"not ready after {self.options.ready_timeout:.0f}s: {', '.join(missing)}")
                for service in self.services:
                    if service.name not in ready and _is_ready(client, service.url):
                        ready[service.name] = round(time.monotonic() - started, 2)
                time.sleep(0.2)
        return ready

    def exited_service(self) -> RunningService | None:
        return next((s for s in self.services if s.process.poll() is not None), None)

    def _raise_if_exited(self) -> None:
        if (service := self.exited_service()) is not None:
            raise RuntimeError(f"{service.name} exited with code {service.process.returncode}")

    def stop(self) -> None:
        """Services first (they hold connections), then Valkey, then Postgres."""
        for service in reversed(self.services):
            stop_process(service.process, sig=signal.SIGTERM, timeout=15)
        self.services.clear()
        if self.valkey is not None:
            self.valkey.stop()
        if self.postgres is not None:
            self.postgres.stop()


def _is_ready(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(f"{url}/readyz").status_code == 200
    except httpx.HTTPError:
        return False


async def _ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install_stop_signals() -> None:
    """SIGTERM behaves like Ctrl-C from the very start, so a stop during start-up also stops cleanly."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def ignore_stop_signals() -> None:
    """While stopping, a second Ctrl-C must not abandon half-stopped servers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def wait_for_stop_signal(stack: LocalStack) -> int:
    """Block until Ctrl-C / SIGTERM (exit 0) or until a service dies on its own (exit 1)."""
    try:
        while True:
            time.sleep(0.5)
            if (service := stack.exited_service()) is not None:
                code = service.process.returncode
                print(f"{service.name} exited with code {code}; stopping the stack", flush=True)
                return 1
    except KeyboardInterrupt:
        return 0
