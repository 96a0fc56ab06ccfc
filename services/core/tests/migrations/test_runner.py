"""The migration runner against a real Postgres: once, in order, checksummed, race-free."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import asyncpg
import pytest

from pma_core.migrations import (
    MigrationChecksumError,
    MigrationError,
    default_migrations_dir,
    discover,
    migrate,
)

EXPECTED_TABLES = {
    "events",
    "plans",
    "scheduler_runs",
    "execution_runs",
    "graph_nodes",
    "graph_edges",
    "prompt_templates",
}


async def _catalog_snapshot(url: str) -> list[tuple[str, ...]]:
    """Every table, column, constraint and index in `public`: what a second run must leave unchanged."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """
            SELECT 'column', table_name, column_name || ':' || data_type || ':' || is_nullable
              FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL
            SELECT 'constraint', conrelid::regclass::text, conname || ':' || pg_get_constraintdef(oid)
              FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'index', tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT 'trigger', event_object_table, trigger_name
              FROM information_schema.triggers WHERE trigger_schema = 'public'
            ORDER BY 1, 2, 3
            """
        )
        return [tuple(row) for row in rows]
    finally:
        await conn.close()


ALL_FILES = [m.path.name for m in discover(default_migrations_dir())]


def _copy_migrations(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(default_migrations_dir(), target)
    return target


async def test_applies_every_file_once_and_a_second_run_changes_nothing(empty_postgres_url: str) -> None:
    first = await migrate(empty_postgres_url, default_migrations_dir())
    assert first.applied == ALL_FILES
    before = await _catalog_snapshot(empty_postgres_url)

    second = await migrate(empty_postgres_url, default_migrations_dir())

    assert second.applied == []
    assert second.already_applied == ALL_FILES
    assert await _catalog_snapshot(empty_postgres_url) == before
    tables = {row[1] for row in before if row[0] == "column"}
    assert tables >= EXPECTED_TABLES | {"schema_migrations"}


async def test_records_version_name_and_checksum(empty_postgres_url: str) -> None:
    await migrate(empty_postgres_url, default_migrations_dir())
    conn = await asyncpg.connect(empty_postgres_url)
    try:
        row = await conn.fetchrow("SELECT version, name, checksum FROM schema_migrations WHERE version = '002'")
    finally:
        await conn.close()
    migration = discover(default_migrations_dir())[0]
    assert row is not None
    assert (row["version"], row["name"], row["checksum"]) == (
        "002",
        "planner_memory_schema",
        migration.checksum,
    )


async def test_refuses_to_run_when_an_applied_file_changed(empty_postgres_url: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    await migrate(empty_postgres_url, directory)
    schema = directory / "002_planner_memory_schema.sql"
    schema.write_text(schema.read_text() + "\n-- an innocent-looking edit\n")

    with pytest.raises(MigrationChecksumError, match=re.escape("002_planner_memory_schema.sql was changed")):
        await migrate(empty_postgres_url, directory)


async def test_crlf_checkout_is_not_an_edit(empty_postgres_url: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    await migrate(empty_postgres_url, directory)
    schema = directory / "002_planner_memory_schema.sql"
    schema.write_bytes(schema.read_bytes().replace(b"\n", b"\r\n"))

    report = await migrate(empty_postgres_url, directory)

    assert report.applied == []


async def test_applies_new_files_in_numeric_order(empty_postgres_url: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    await migrate(empty_postgres_url, directory)
    # 0910 sorts before 901 as text; the runner orders by number.
    (directory / "0910_second.sql").write_text("INSERT INTO order_log VALUES ('0910');")
    (directory / "901_first.sql").write_text("CREATE TABLE order_log (v text); INSERT INTO order_log VALUES ('901');")

    report = await migrate(empty_postgres_url, directory)

    assert report.applied == ["901_first.sql", "0910_second.sql"]
    conn = await asyncpg.connect(empty_postgres_url)
    try:
        assert [r["v"] for r in await conn.fetch("SELECT v FROM order_log")] == ["901", "0910"]
    finally:
        await conn.close()


async def test_a_failing_migration_rolls_back_and_is_not_recorded(empty_postgres_url: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    (directory / "900_broken.sql").write_text("CREATE TABLE half_done (v int); SELECT * FROM no_such_table;")

    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(empty_postgres_url, directory)

    conn = await asyncpg.connect(empty_postgres_url)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        half_done = await conn.fetchval("SELECT to_regclass('public.half_done')")
    finally:
        await conn.close()
    # Everything before the broken file is recorded; the broken file, and the table it made, are not.
    assert versions == sorted(path.name.split("_")[0] for path in default_migrations_dir().glob("*.sql"))
    assert "900" not in versions
    assert half_done is None


async def test_four_services_starting_together_apply_each_file_once(empty_postgres_url: str) -> None:
    reports = await asyncio.gather(*(migrate(empty_postgres_url, default_migrations_dir()) for _ in range(4)))

    applied = [name for report in reports for name in report.applied]
    assert sorted(applied) == ALL_FILES


def test_rejects_badly_named_and_duplicate_files(tmp_path: Path) -> None:
    (tmp_path / "002_ok.sql").write_text("SELECT 1;")
    (tmp_path / "notes.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=re.escape("notes.sql: migration files must be named NNN_name.sql")):
        discover(tmp_path)

    (tmp_path / "notes.sql").unlink()
    (tmp_path / "0002_same_number.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share version"):
        discover(tmp_path)


def test_needs_no_001_file() -> None:
    versions = [m.version for m in discover(default_migrations_dir())]
    assert versions[0] == "002"
