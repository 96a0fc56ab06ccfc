"""What every service opens in its lifespan: migrations, the Postgres pool and the Valkey cache; and the two
ways a service runs work beside its requests, each ended by the lifespan before the resources it uses close:
a background loop (`run_until_exit`) and work that follows a response (`Background`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from pma_core.app.readiness import ReadinessCheck
from pma_core.cache import ValkeyCache
from pma_core.migrations import default_migrations_dir, migrate
from pma_core.postgres import check_pool, open_pool
from pma_core.settings import CoreSettings

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoreResources:
    pool: asyncpg.Pool
    cache: ValkeyCache


@asynccontextmanager
async def open_core_resources(settings: CoreSettings, *, session_state: bool = True) -> AsyncIterator[CoreResources]:
    """Migrate (when enabled), open the pool and the cache; close them in reverse order.

    `session_state`: whether the service leaves state in a Postgres session (a session advisory lock); see
    `open_pool`."""
    postgres = settings.postgres
    if postgres.auto_migrate:
        await migrate(postgres.url.get_secret_value(), postgres.migrations_dir or default_migrations_dir())
    pool = await open_pool(postgres, session_state=session_state)
    try:
        cache = ValkeyCache.from_settings(settings.valkey, prefix=settings.valkey_prefix)
        try:
            yield CoreResources(pool=pool, cache=cache)
        finally:
            await cache.close()
    finally:
        await pool.close()


def core_readiness(resources: CoreResources) -> list[ReadinessCheck]:
    """Postgres is critical (the source of truth); Valkey only caches, so without it we are degraded."""

    async def valkey_probe() -> str:
        await resources.cache.ping()
        return "valkey ok"

    return [
        ReadinessCheck("postgres", lambda: check_pool(resources.pool)),
        ReadinessCheck("valkey", valkey_probe, critical=False),
    ]


def run_until_exit(stack: AsyncExitStack, loop: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run a service's background loop (index repair, hand-over retries) until `stack` closes, then cancel it
    and wait for it to unwind, so nothing it holds outlives the resources closed after it."""
    task = asyncio.get_running_loop().create_task(loop)

    async def cancel() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(cancel)
    return task


class Background:
    """Work that follows a response instead of delaying it, tracked so the lifespan can end it.

    The lifespan owns one and closes it (`aclose`) before the resources the work uses: running work gets
    `drain_seconds` to finish, then is cancelled. Work spawned here must be safe to lose that way (a
    sweep, a repair loop or the caller's retry redoes it) and report its own outcome; an exception that
    escapes it is logged, never raised.
    """

    def __init__(self, *, drain_seconds: float = 5.0) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._drain_seconds = drain_seconds

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)  # also keeps a reference, so the task is not garbage-collected mid-run
        task.add_done_callback(self._done)

    @property
    def running(self) -> int:
        return len(self._tasks)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.warning("background work failed", exc_info=task.exception())

    async def aclose(self) -> None:
        """Give running work a moment to finish, then cancel what is left and wait for it to unwind."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self._drain_seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
