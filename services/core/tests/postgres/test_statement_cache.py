"""POSTGRES_STATEMENT_CACHE_SIZE reaches asyncpg: 0 leaves no statement prepared on the server connection
(what PgBouncer's transaction mode before 1.21 needs), the default keeps them."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings


@pytest.mark.parametrize(("cache_size", "kept"), [(0, 0), (100, 1)])
async def test_the_statement_cache_size_decides_what_stays_prepared(
    postgres_url: str, cache_size: int, kept: int
) -> None:
    pool = await open_pool(PostgresSettings(url=SecretStr(postgres_url), statement_cache_size=cache_size))
    try:
        async with pool.acquire() as connection:
            assert await connection.fetchval("SELECT $1::int + 1", 41) == 42
            prepared = await connection.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1::int + 1%'"
            )
    finally:
        await pool.close()
    assert prepared == kept
