"""The Postgres pool: asyncpg with JSON codecs, so JSONB columns read and write Python objects."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from pma_core.settings import PostgresSettings

Pool = asyncpg.Pool
Connection = asyncpg.Connection


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text")


async def open_pool(settings: PostgresSettings) -> asyncpg.Pool:
    """Open the service's pool; fails fast (with the server's own message) when Postgres is unreachable."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn=settings.url.get_secret_value(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        command_timeout=settings.command_timeout_seconds,
        timeout=settings.connect_timeout_seconds,
        init=_init_connection,
    )
    return pool


async def check_pool(pool: asyncpg.Pool) -> str:
    """Readiness probe: one round trip; returns the server version for the report."""
    async with pool.acquire() as conn:
        version: Any = await conn.fetchval("SHOW server_version")
    return f"postgres {version}"
