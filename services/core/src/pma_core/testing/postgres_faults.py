"""A private Postgres a test may hang, stop and start again, to see what a service does meanwhile.

It is an embedded Postgres of its own (never the session's shared server, which other tests are using), on a
free port, in a scratch directory. `frozen()` stops the postmaster and every backend with SIGSTOP, which is
what a stalled disk or a network partition looks like from a client: the port still accepts TCP connections
(the kernel queues them), nothing ever answers. SIGCONT on the way out, whatever happened inside, so a failing
test cannot leave a frozen server behind.

The assertions every service's outage test makes are here too, with the bounds they hold a service to.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import asyncpg
import httpx
import psutil

from pma_core.embedded import EmbeddedPostgres
from pma_core.embedded.process import free_port
from pma_core.testing.plugin import run_sync
from pma_core.testing.servers import with_database

DATABASE = "pma"
# The bound, "about 3 s": by the defaults a statement on a hung server gives up after 2.5 s and its
# connection is handed back (or closed) within 0.5 s more; a wait for a connection gives up after 2 s. One
# second of slack for a loaded machine; the old defaults took 20 s, and each bound removed alone takes 4.5 s
# or more.
ABOUT_3_SECONDS = 4.0
# /readyz's own budget (2 s) plus the same slack.
READYZ_SECONDS = 3.0
# How long a service may take to answer again once Postgres does.
RECOVERY_SECONDS = 10.0


async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    """The response and the seconds it took."""
    started = time.perf_counter()
    response = await call
    return response, time.perf_counter() - started


def assert_postgres_unavailable(response: httpx.Response, seconds: float, what: str) -> None:
    """A 503 `unavailable` naming Postgres, within `ABOUT_3_SECONDS`."""
    print(f"{what}: {response.status_code} in {seconds:.2f}s: {response.text[:200]}")
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert "postgres" in error["message"]
    assert error["details"]["dependency"] == "postgres"
    assert seconds < ABOUT_3_SECONDS, f"{what} took {seconds:.2f}s"


async def assert_readyz_fails_on_postgres(http: httpx.AsyncClient) -> None:
    """`/readyz` answers 503 within `READYZ_SECONDS`, its Postgres check failed and saying so."""
    response, seconds = await timed(http.get("/readyz"))
    print(f"GET /readyz: {response.status_code} in {seconds:.2f}s: {response.text[:300]}")
    assert response.status_code == 503
    postgres = next(d for d in response.json()["dependencies"] if d["name"] == "postgres")
    assert postgres["status"] == "fail"
    assert "postgres" in postgres["detail"]
    assert seconds < READYZ_SECONDS, f"/readyz took {seconds:.2f}s"


class FaultyPostgres:
    """One embedded cluster under `root`; `url` is its `pma` database (created, not migrated: a service's
    lifespan migrates it)."""

    def __init__(self, root: Path) -> None:
        self.server = EmbeddedPostgres(root / "data", port=free_port(), fast_unsafe=True)

    @property
    def url(self) -> str:
        return with_database(self.server.url(), DATABASE)

    def start(self) -> float:
        """Start (again, on the same port and data); returns the seconds it took."""
        started = time.perf_counter()
        self.server.start()
        return time.perf_counter() - started

    def stop(self) -> None:
        """Fast shutdown: the clients' connections are closed by the server, then the port refuses."""
        self.server.stop()

    def create_database(self) -> None:
        run_sync(_create_database(self.server.url(), DATABASE))

    def processes(self) -> list[psutil.Process]:
        """The postmaster (from `postmaster.pid`, it may run as another user) and all its children."""
        pid = int((self.server.data_dir / "postmaster.pid").read_text().splitlines()[0])
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP the server and its backends for the block; SIGCONT after it, however it ends."""
        stopped: list[psutil.Process] = []
        try:
            for process in self.processes():
                process.send_signal(signal.SIGSTOP)
                stopped.append(process)
            yield
        finally:
            for process in stopped:
                with suppress(psutil.NoSuchProcess):
                    process.send_signal(signal.SIGCONT)


async def _create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@contextmanager
def faulty_postgres(root: Path) -> Iterator[FaultyPostgres]:
    """A started private Postgres with an empty `pma` database; stopped (thawed first) afterwards."""
    server = FaultyPostgres(root)
    server.start()
    try:
        server.create_database()
        yield server
    finally:
        server.stop()
