"""The Postgres pool: asyncpg with JSON codecs, so JSONB columns read and write Python objects; and the
paged read of who was active in a window, which every service with per-user activity answers the same way."""

from __future__ import annotations

import json
from datetime import datetime
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


# User ids are compared and sorted byte-wise (COLLATE "C"), so the order is the same on every database
# whatever its collation, and the `after` cursor agrees with it.
_ACTIVE_PAGE = """
    SELECT user_id FROM ({union}) active
    WHERE $3::text IS NULL OR user_id COLLATE "C" > $3::text COLLATE "C"
    ORDER BY user_id COLLATE "C" LIMIT $4"""


class ActiveUsersQuery:
    """Who had anything in a window (`GET /v1/users/active`): `union` selects the `user_id` of every row
    active in [$1, $2) of the service's own tables; the page after `after` comes back sorted."""

    def __init__(self, pool: asyncpg.Pool, *, union: str) -> None:
        self._pool = pool
        self._sql = _ACTIVE_PAGE.format(union=union)

    async def active_users(self, since: datetime, until: datetime, *, after: str | None, limit: int) -> list[str]:
        """Up to `limit` user ids active in [since, until), after `after`, sorted."""
        rows = await self._pool.fetch(self._sql, since, until, after, limit)
        return [row["user_id"] for row in rows]
