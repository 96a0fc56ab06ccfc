"""The same migrations on the Postgres 15 the user's VPS may run, where this machine has it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from pma_core.embedded import EmbeddedPostgres
from pma_core.embedded.process import free_port
from pma_core.migrations import default_migrations_dir, migrate

# Debian's postgresql-15 package puts it here; PMA_TEST_PG15_BIN points elsewhere (e.g. a Homebrew keg's bin).
PG15_BIN = Path(os.environ.get("PMA_TEST_PG15_BIN") or "/usr/lib/postgresql/15/bin")

pytestmark = pytest.mark.skipif(
    not (PG15_BIN / "postgres").exists(),
    reason=f"the migrations on Postgres 15 not run: no postgres in {PG15_BIN}; install Postgres 15 there "
    "(Debian: postgresql-15) or set PMA_TEST_PG15_BIN to the bin directory of one",
)


@pytest.fixture(scope="module")
def postgres15_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pma-pg15-") as root:
        server = EmbeddedPostgres(Path(root) / "data", port=free_port(), bin_dir=PG15_BIN, fast_unsafe=True)
        server.start()
        try:
            yield server.url()
        finally:
            server.stop()


async def test_migrations_apply_once_on_postgres_15(postgres15_url: str) -> None:
    first = await migrate(postgres15_url, default_migrations_dir())
    second = await migrate(postgres15_url, default_migrations_dir())

    assert first.applied == sorted(path.name for path in default_migrations_dir().glob("*.sql"))
    assert first.applied[0] == "002_planner_memory_schema.sql"
    assert second.applied == []
    conn = await asyncpg.connect(postgres15_url)
    try:
        assert (await conn.fetchval("SHOW server_version")).startswith("15.")
        tables = {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    finally:
        await conn.close()
    assert {"events", "plans", "scheduler_runs", "execution_runs", "graph_nodes", "graph_edges"} <= tables
    assert {"prompt_templates", "tasks", "sops", "memories", "documents"} <= tables
