"""A finished run's report is claimed before it is sent: of two senders (the run's own task and a sweep, of
this replica or another) exactly one gets it, a failed send gives it back, and a dead sender's claim expires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest
from pydantic import SecretStr

from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings
from scheduler_engine.adapters.runs import RunRepository


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_pool(PostgresSettings(url=SecretStr(postgres_url), pool_max_size=4))
    yield pool
    await pool.close()


async def _finished_run(pool: asyncpg.Pool) -> UUID:
    run_id: UUID = await pool.fetchval(
        "INSERT INTO scheduler_runs (user_id, plan_id, status, finished_at)"
        " VALUES ('alice', gen_random_uuid(), 'succeeded', now()) RETURNING id"
    )
    return run_id


async def test_of_two_senders_at_once_exactly_one_claims_the_report(pool: asyncpg.Pool) -> None:
    runs = RunRepository(pool)
    run_id = await _finished_run(pool)
    for _ in range(20):  # at once, many times over: never both, never neither
        claims = await asyncio.gather(*(runs.claim_report(run_id, lease_seconds=60) for _ in range(2)))
        assert sorted(claims) == [False, True]
        await runs.release_report(run_id)


async def test_a_claimed_report_is_not_swept_until_given_back_or_expired(pool: asyncpg.Pool) -> None:
    runs = RunRepository(pool)
    run_id = await _finished_run(pool)
    assert await runs.unreported(limit=10) == [run_id]
    assert await runs.claim_report(run_id, lease_seconds=60)
    assert await runs.unreported(limit=10) == []  # another sender has it
    await runs.release_report(run_id)  # the planner did not take it
    assert await runs.unreported(limit=10) == [run_id]

    assert await runs.claim_report(run_id, lease_seconds=0.05)  # a sender that then dies
    await asyncio.sleep(0.2)
    assert await runs.unreported(limit=10) == [run_id]
    assert await runs.claim_report(run_id, lease_seconds=60)  # its lease is over


async def test_a_delivered_report_is_never_claimed_again(pool: asyncpg.Pool) -> None:
    runs = RunRepository(pool)
    run_id = await _finished_run(pool)
    assert await runs.claim_report(run_id, lease_seconds=60)
    await runs.reported(run_id)
    assert not await runs.claim_report(run_id, lease_seconds=60)
    assert await runs.unreported(limit=10) == []
