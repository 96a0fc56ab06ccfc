"""Two replicas over one database never solve a run twice: a run is executed under a lease, and a user's
runs one at a time, whichever replica took them (their blocks come from one solve each, never overlapping).

Each replica here is its own `RunService` over its own pool. The first solve waits at a gate, so the other
replica acts while the first is caught mid-run: no timing is relied on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID

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

from .gated_solver import GatedSolver, no_calendar, no_spawn

USER = "rhea"


@pytest.fixture
async def pools(postgres_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """One pool per replica."""
    settings = PostgresSettings(url=SecretStr(postgres_url), pool_max_size=4)
    first = await open_pool(settings)
    second = await open_pool(settings)
    yield first, second
    await second.close()
    await first.close()


def _replica(pool: asyncpg.Pool, solver: GatedSolver, **tuning: Any) -> RunService:
    return RunService(
        runs=RunRepository(pool), blocks=BlockRepository(pool), profiles=ProfileRepository(pool), solve=solver,
        calendar_for=no_calendar, reporter=None, spawn=no_spawn,
        # Every unfinished run counts as interrupted at once: the sweeps look at it straight away.
        tuning=Tuning(window_days=3, stale_after=timedelta(0), **tuning),
    )  # fmt: skip


async def _new_run(pool: asyncpg.Pool, title: str) -> UUID:
    spec = RunSpec(user_id=USER, tasks=[RunTask(id=uuid.uuid4(), title=title, estimate_minutes=60)])
    run, _ = await RunRepository(pool).create(spec, key=None, input_hash=spec.input_hash())
    return run.id


async def _caught_mid_solve(replica: RunService, solver: GatedSolver, run_id: UUID) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(replica.execute(run_id))
    assert await asyncio.to_thread(solver.entered.wait, 20), "the first replica never reached its solve"
    return task


async def _status(pool: asyncpg.Pool, run_id: UUID) -> str:
    status: str = await pool.fetchval("SELECT status FROM scheduler_runs WHERE id = $1", run_id)
    return status


async def _attempts(pool: asyncpg.Pool, run_id: UUID) -> int:
    attempts: int = await pool.fetchval("SELECT run_attempts FROM scheduler_runs WHERE id = $1", run_id)
    return attempts


async def test_a_run_one_replica_is_solving_is_not_solved_again_by_the_other_replicas_sweep(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], solver: GatedSolver
) -> None:
    first, second = _replica(pools[0], solver), _replica(pools[1], solver)
    run_id = await _new_run(pools[0], "Write the launch notes")
    running = await _caught_mid_solve(first, solver, run_id)

    assert await second.sweep() == (0, 0)  # the run is the first replica's: nothing to run again
    assert len(solver.calls) == 1
    solver.gate.set()
    await running
    assert len(solver.calls) == 1
    assert await _status(pools[0], run_id) == "succeeded"
    assert await _attempts(pools[0], run_id) == 1
    assert await second.sweep() == (0, 0)  # finished: never run again


async def test_a_users_runs_go_one_at_a_time_across_replicas_and_never_overlap(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], solver: GatedSolver
) -> None:
    first, second = _replica(pools[0], solver), _replica(pools[1], solver)
    earlier = await _new_run(pools[0], "Draft the budget")
    later = await _new_run(pools[1], "Review the budget")
    running = await _caught_mid_solve(first, solver, earlier)

    # The second replica's own task for the later run: the user's calendar is being planned, so it waits
    # its turn instead of placing blocks in the same free time the first replica is placing them in.
    await second.execute(later)
    assert len(solver.calls) == 1
    assert await _status(pools[1], later) == "pending"

    solver.gate.set()
    await running  # the replica holding the user's runs goes on with the next one
    assert [await _status(pools[0], run) for run in (earlier, later)] == ["succeeded", "succeeded"]
    assert len(solver.calls) == 2
    blocks = await pools[0].fetch(
        "SELECT start_at, end_at FROM calendar_blocks WHERE user_id = $1 AND status = 'planned' ORDER BY start_at",
        USER,
    )
    assert len(blocks) == 2
    assert blocks[0]["end_at"] <= blocks[1]["start_at"]  # the later run saw the earlier run's block


async def test_a_run_whose_replica_died_mid_solve_is_taken_over_once_its_lease_ends(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], solver: GatedSolver
) -> None:
    solver.entered.set()  # no gate: the replica that died holds nothing but its lease
    solver.gate.set()
    survivor = _replica(pools[1], solver)
    run_id = await _new_run(pools[0], "Send the invoices")
    dead = uuid.uuid4()
    claimed = await RunRepository(pools[0]).claim_next(USER, lease_seconds=0.05, claimant=dead)  # ... it dies
    assert claimed is not None
    assert claimed.id == run_id
    other = RunRepository(pools[1])
    assert await other.claim_next(USER, lease_seconds=60, claimant=uuid.uuid4()) is None  # the lease holds

    await asyncio.sleep(0.2)  # the dead replica's lease runs out
    assert await survivor.sweep() == (1, 0)
    assert await _status(pools[1], run_id) == "succeeded"
    assert len(solver.calls) == 1
    assert await _attempts(pools[1], run_id) == 2  # the dead replica's take, and the survivor's


async def test_a_worker_whose_claim_answer_was_lost_takes_its_own_claim_back_and_nobody_else_does(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    run_id = await _new_run(pools[0], "File the taxes")
    me, runs = uuid.uuid4(), RunRepository(pools[0])
    assert await runs.claim_next(USER, lease_seconds=60, claimant=me) is not None  # its answer "lost"
    assert await RunRepository(pools[1]).claim_next(USER, lease_seconds=60, claimant=uuid.uuid4()) is None
    again = await runs.claim_next(USER, lease_seconds=60, claimant=me)  # the same worker, trying again
    assert again is not None
    assert again.id == run_id
    assert await _attempts(pools[0], run_id) == 1  # one worker took it, however often
