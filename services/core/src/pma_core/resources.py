"""What every service opens in its lifespan: migrations, the Postgres pool and the Valkey cache."""

from __future__ import annotations

import asyncio
import contextlib
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


@dataclass(frozen=True)
class CoreResources:
    pool: asyncpg.Pool
    cache: ValkeyCache


@asynccontextmanager
async def open_core_resources(settings: CoreSettings) -> AsyncIterator[CoreResources]:
    """Migrate (when enabled), open the pool and the cache; close them in reverse order."""
    postgres = settings.postgres
    if postgres.auto_migrate:
        await migrate(postgres.url.get_secret_value(), postgres.migrations_dir or default_migrations_dir())
    pool = await open_pool(postgres)
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
