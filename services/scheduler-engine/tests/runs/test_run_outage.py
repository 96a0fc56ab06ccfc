"""A run Postgres drops out of midway (stopped while the solver works, so keeping the blocks fails) is tried
again by its worker once Postgres answers: it succeeds, once, with one set of blocks, and is never recorded
as failed for an outage. Its own Postgres (`pma_core.testing.postgres_faults`), never the session's shared one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
from pydantic import SecretStr

from pma_core.contracts.scheduling import RunTask
from pma_core.migrations import default_migrations_dir, migrate
from pma_core.postgres import open_pool, postgres_outage
from pma_core.settings import PostgresSettings
from pma_core.testing.postgres_faults import FaultyPostgres, faulty_postgres
from scheduler_engine.adapters.blocks import BlockRepository
from scheduler_engine.adapters.profiles import ProfileRepository
from scheduler_engine.adapters.runs import RunRepository
from scheduler_engine.domain.intake import RunSpec
from scheduler_engine.domain.runs import RunService, Tuning

from .gated_solver import GatedSolver, no_calendar, no_spawn

USER = "odile"


@pytest.fixture
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyPostgres]:
    with faulty_postgres(Path(tmp_path_factory.mktemp("faulty-pg"))) as server:
        yield server


@pytest.fixture
async def pool(postgres: FaultyPostgres) -> AsyncIterator[asyncpg.Pool]:
    await migrate(postgres.url, default_migrations_dir())
    pool = await open_pool(PostgresSettings(url=SecretStr(postgres.url), pool_min_size=1, pool_max_size=4))
    yield pool
    await pool.close()


async def _row(pool: asyncpg.Pool, run_id: UUID) -> asyncpg.Record:
    row: asyncpg.Record = await pool.fetchrow(
        "SELECT status, error, run_attempts FROM scheduler_runs WHERE id = $1", run_id
    )
    return row


async def test_a_run_postgres_drops_out_of_midway_is_finished_once_postgres_is_back(
    postgres: FaultyPostgres, pool: asyncpg.Pool, solver: GatedSolver
) -> None:
    runs = RunService(
        runs=RunRepository(pool), blocks=BlockRepository(pool), profiles=ProfileRepository(pool), solve=solver,
        calendar_for=no_calendar, reporter=None, spawn=no_spawn, transient=postgres_outage,
        tuning=Tuning(window_days=3, stale_after=timedelta(0)),
    )  # fmt: skip
    task = RunTask(id=uuid.uuid4(), title="Write the grant report", estimate_minutes=90)
    spec = RunSpec(user_id=USER, tasks=[task])
    run, _ = await RunRepository(pool).create(spec, key=None, input_hash=spec.input_hash())

    executing = asyncio.get_running_loop().create_task(runs.execute(run.id))
    assert await asyncio.to_thread(solver.entered.wait, 20), "the run never reached its solve"
    postgres.stop()
    solver.gate.set()  # the solve ends with Postgres gone: keeping its blocks fails
    await asyncio.sleep(1.0)  # the worker's first tries meet the outage
    assert not executing.done()
    postgres.start()
    await asyncio.wait_for(executing, timeout=30)

    row = await _row(pool, run.id)
    assert (row["status"], row["error"], row["run_attempts"]) == ("succeeded", None, 1)
    blocks = await pool.fetch("SELECT task_id, start_at, end_at FROM calendar_blocks WHERE run_id = $1", run.id)
    assert {b["task_id"] for b in blocks} == {task.id}
    assert sum((b["end_at"] - b["start_at"]).total_seconds() for b in blocks) == 90 * 60  # one set, not two
