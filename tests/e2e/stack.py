"""The real stack for the end-to-end stories: one `pma up` process tree per test module, as `make dev` runs it
(embedded Postgres, Valkey and Qdrant, the four services as uvicorn processes on free loopback ports), with
the environment the module's story needs (loopback fakes of Google, Coda and the LLM, or none of them).

The stack reads nothing from the test's own environment or working directory: every setting of ours or of
a third party is dropped before the module's are added, and it runs in a temporary directory (no `.env`), so
a developer's OPENROUTER_API_KEY can never reach a real provider from a test. When the module is done the
stack gets SIGTERM, must exit 0 and must leave no process behind (as `tests/test_pma_up.py` checks).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from four_services import Clients

from pma_core.embedded.process import child_setup, free_port
from pma_core.settings import ServiceUrls

READY_MARKER = "press Ctrl-C to stop"
READY_TIMEOUT_SECONDS = 180.0
# Prefixes of every setting the services or `pma up` read (.env.example): none leaks in from outside.
SETTING_PREFIXES = (
    "PMA_", "POSTGRES_", "VALKEY_", "QDRANT_", "EMBEDDING_", "LLM_", "OPENROUTER_", "LANGFUSE_", "MEM0_",
    "HTTP_", "LOG_", "CF_ACCESS_", "MEMORY_", "PLANNER_", "SCHEDULER_", "OBSERVER_", "GOOGLE_", "CODA_",
)  # fmt: skip
# Short intervals and a small solve, so background work (hand-overs, reports, deliveries) lands within a
# test's patience; the services and their code paths are the production ones.
FAST = {
    "LOG_LEVEL": "WARNING",
    "LLM_ALLOW_MODEL_REQUESTS": "false",  # only a loopback base URL may be called
    "EMBEDDING_PROVIDER": "hashing",
    "SCHEDULER_TIME_LIMIT_SECONDS": "1",
    "SCHEDULER_NUM_WORKERS": "1",
    "SCHEDULER_SWEEP_INTERVAL_SECONDS": "1",
    "PLANNER_HANDOVER_RETRY_INTERVAL_SECONDS": "1",
    # Two cores shared with other test runs: recall gets more than the default 2 s before planning goes on.
    "PLANNER_MEMORY_TIMEOUT_SECONDS": "5",
    "OBSERVER_SWEEP_INTERVAL_SECONDS": "0.5",
    "OBSERVER_POLL_SECONDS": "0.1",
    "OBSERVER_POST_WAIT_SECONDS": "5",
}
StackEnv = Callable[[ServiceUrls], Mapping[str, str]]


@dataclass(frozen=True)
class Stopped:
    code: int
    tree: int  # processes under `pma up` just before the stop
    orphans: list[psutil.Process]


@dataclass
class Stack:
    """A running `pma up`: its URLs, the API token it requires, and what it printed."""

    urls: ServiceUrls
    token: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None

    def clients(self) -> Clients:
        """Typed clients holding the stack's token, as the user's agents call it."""
        return Clients(self.urls, bearer_token=self.token)

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output[-lines:])

    def read_output(self) -> None:
        """Keep the pipe drained (the services log into it too; a full pipe would block them)."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            if READY_MARKER in line:
                self.ready.set()

    def wait_ready(self) -> None:
        self._reader = threading.Thread(target=self.read_output, name="pma-up-output", daemon=True)
        self._reader.start()
        waited = 0.0
        while not self.ready.wait(timeout=0.5):
            waited += 0.5
            if self.process.poll() is not None or waited > READY_TIMEOUT_SECONDS:
                self._reader.join(timeout=5)  # its last words, when it exited
                raise AssertionError(f"pma up was not ready (exit {self.process.poll()}):\n{self.tail()}")

    def tree(self) -> list[psutil.Process]:
        try:
            children: list[psutil.Process] = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return children

    def stop(self) -> Stopped:
        """SIGTERM, as Ctrl-C: how it exited, and what of its process tree outlived it."""
        children = self.tree()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        _, alive = psutil.wait_procs(children, timeout=15)
        for orphan in alive:  # not left running for the next test, but still reported
            orphan.kill()
        return Stopped(code=code, tree=len(children), orphans=alive)


def _environment(urls: ServiceUrls, token: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(SETTING_PREFIXES)}
    env |= {
        "MEMORY_GATEWAY_URL": urls.memory_gateway_url,
        "PLANNER_ENGINE_URL": urls.planner_engine_url,
        "SCHEDULER_ENGINE_URL": urls.scheduler_engine_url,
        "OBSERVER_AGENT_URL": urls.observer_agent_url,
        "SCHEDULER_PUBLIC_BASE_URL": urls.scheduler_engine_url,
        "OBSERVER_PUBLIC_BASE_URL": urls.observer_agent_url,
        "PMA_API_TOKEN": token,
    }
    return env | FAST | dict(extra)


def launch(workdir: Path, env_for: StackEnv) -> Stack:
    """Start `pma up` in `workdir` (its data under `workdir/pma-data`); returns once every service is ready."""
    memory, planner, scheduler, observer = (f"http://127.0.0.1:{free_port()}" for _ in range(4))
    urls = ServiceUrls(
        memory_gateway_url=memory, planner_engine_url=planner, scheduler_engine_url=scheduler,
        observer_agent_url=observer,
    )  # fmt: skip
    token = secrets.token_urlsafe(24)
    command = [sys.executable, "-m", "pma_core.cli", "up", "--data-dir", str(workdir / "pma-data")]
    command += ["--postgres-port", str(free_port()), "--valkey-port", str(free_port())]
    command += ["--ready-timeout", str(int(READY_TIMEOUT_SECONDS))]
    process = subprocess.Popen(
        command, env=_environment(urls, token, env_for(urls)), cwd=workdir, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, bufsize=1, preexec_fn=child_setup(None),
    )  # fmt: skip
    stack = Stack(urls=urls, token=token, process=process)
    try:
        stack.wait_ready()
    except BaseException:
        stack.stop()
        raise
    return stack
