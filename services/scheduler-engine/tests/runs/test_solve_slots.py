"""Solves wait for a free slot (SCHEDULER_MAX_CONCURRENT_SOLVES): each already uses every CP-SAT worker, and
several at once starved every other request of the process (docs/benchmarks.md, mixed load)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import asyncpg
import pytest
from pydantic import SecretStr

from pma_core.contracts.scheduling import RunTask
from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings
from scheduler_engine.adapters.blocks import BlockRepository
from scheduler_engine.adapters.profiles import ProfileRepository
from scheduler_engine.adapters.runs import RunRepository
from scheduler_engine.domain.intake import RunSpec
from scheduler_engine.domain.runs import RunService, Tuning
from scheduler_engine.settings import solver_workers

from .gated_solver import GatedSolver, no_calendar, no_spawn


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_pool(PostgresSettings(url=SecretStr(postgres_url), pool_max_size=4))
    yield pool
    await pool.close()


@pytest.mark.parametrize(("slots", "at_once"), [(1, 1), (2, 2)])
async def test_solves_beyond_the_slots_wait_their_turn(
    pool: asyncpg.Pool, solver: GatedSolver, slots: int, at_once: int
) -> None:
    runs = RunService(
        runs=RunRepository(pool), blocks=BlockRepository(pool), profiles=ProfileRepository(pool), solve=solver,
        calendar_for=no_calendar, reporter=None, spawn=no_spawn, solve_slots=asyncio.Semaphore(slots),
        tuning=Tuning(window_days=3, stale_after=timedelta(0)),
    )  # fmt: skip
    ids = []
    for user in ("ann", "ben"):  # two users: their runs do not queue behind each other's calendar
        spec = RunSpec(user_id=user, dry_run=True, tasks=[RunTask(id=uuid.uuid4(), title="Plan", estimate_minutes=30)])
        ids.append((await RunRepository(pool).create(spec, key=None, input_hash=spec.input_hash()))[0].id)
    first = asyncio.get_running_loop().create_task(runs.execute(ids[0]))
    assert await asyncio.to_thread(solver.entered.wait, 20)
    second = asyncio.get_running_loop().create_task(runs.execute(ids[1]))
    if at_once == 2:
        await _until(lambda: len(solver.calls) == 2)  # a free slot: the second solve starts beside the first
    else:
        await asyncio.sleep(0.5)  # ample for the second run to reach its solve; no slot lets it start
        assert len(solver.calls) == 1
    solver.gate.set()
    await asyncio.gather(first, second)
    assert (len(solver.calls), solver.most) == (2, at_once)


def test_the_workers_default_to_the_cores_at_most_eight() -> None:
    assert solver_workers(3) == 3
    assert 1 <= solver_workers(None) <= 8
