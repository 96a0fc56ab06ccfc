"""Two observer replicas over one database: what a reflection owes is claimed, so one replica delivers it and
the other's sweep leaves it alone; its Coda row is written once, whichever replica was triggered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from observer_agent.adapters.reflections import ReflectionRepository
from observer_agent.settings import ObserverSettings
from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings
from pma_core.testing.fake_coda import FakeCoda

from .builders import at, run, task
from .conftest import DOC, TABLE, Observer, ObserverFactory

DAY = date(2026, 11, 23)
# Both replicas sweep often, and Coda applies a write only after a while: a delivery waiting for its write
# to land holds the reflection for most of a second, through several of the other replica's sweeps.
FAST_SWEEPS = ObserverSettings(sweep_interval_seconds=0.05, post_wait_seconds=3.0, poll_seconds=0.05)


def _seed(observer: Observer, user: str) -> None:
    observer.records.profiles[user] = {"time_zone": "UTC"}
    done = task("Write post", tags=["writing"], status="done", completed_at=at(DAY, "11:00"))
    done = done.model_copy(update={"user_id": user})
    observer.records.tasks.append(done)
    observer.records.executions.append(
        run(done.id, at(DAY, "09:00"), 120, estimated=90).model_copy(update={"user_id": user})
    )


async def _posted(observer: Observer, reflection_id: str, user: str) -> None:
    for _ in range(200):
        got = (await observer.http.get(f"/v1/reflections/{reflection_id}", params={"user_id": user})).json()
        if got["posting"]["status"] == "posted" and got["indexed"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not delivered within 10 s")


async def _daily(observer: Observer, user: str) -> dict[str, Any]:
    response = await observer.http.post("/v1/reflections/daily", json={"user_id": user, "date": str(DAY)})
    assert response.status_code == 200, response.text
    [made] = response.json()["reflections"]
    made_: dict[str, Any] = made
    return made_


async def test_a_reflection_one_replica_is_delivering_is_not_posted_again_by_the_others_sweep(
    start_observer: ObserverFactory, coda: FakeCoda
) -> None:
    coda.mutation_delay = 0.8
    async with start_observer(observer=FAST_SWEEPS) as first, start_observer(observer=FAST_SWEEPS) as second:
        for user in ("ada", "bob"):
            _seed(first, user)
        made = await _daily(first, "ada")  # its delivery waits on Coda while the second replica sweeps
        await _posted(second, made["id"], "ada")
        # Both replicas triggered at once for another user: one reflection, one row.
        both = await asyncio.gather(_daily(first, "bob"), _daily(second, "bob"))
        assert both[0]["id"] == both[1]["id"]
        await _posted(first, both[0]["id"], "bob")
        for _ in range(5):  # a few more sweeps of both replicas: nothing left to do
            await asyncio.sleep(FAST_SWEEPS.sweep_interval_seconds)

    assert coda.key_counts(DOC, TABLE, "c-key") == {f"ada|{DAY}|daily": 1, f"bob|{DAY}|daily": 1}
    assert len(coda.requests("write")) == 2


@pytest.fixture
async def stores(postgres_url: str) -> AsyncIterator[tuple[ReflectionRepository, ReflectionRepository]]:
    """The reflection store of each of two replicas, each over its own pool."""
    settings = PostgresSettings(url=SecretStr(postgres_url), pool_max_size=3)
    pools: list[asyncpg.Pool] = [await open_pool(settings), await open_pool(settings)]
    yield (
        ReflectionRepository(pools[0], posting_configured=True),
        ReflectionRepository(pools[1], posting_configured=True),
    )
    for pool in pools:
        await pool.close()


async def test_of_two_replicas_claiming_at_once_one_gets_each_owed_reflection(
    start_observer: ObserverFactory, stores: tuple[ReflectionRepository, ReflectionRepository]
) -> None:
    async with start_observer(coda_configured=False) as observer:  # it stores them; nobody posts them
        ids = set()
        for user in ("ada", "bob", "cyd"):
            _seed(observer, user)
            ids.add((await _daily(observer, user))["id"])
    first, second = stores
    for _ in range(10):  # round after round: never both, never neither
        batches = await asyncio.gather(
            first.claim(limit=10, lease_seconds=60), second.claim(limit=10, lease_seconds=60)
        )
        mine, theirs = ({str(i) for i in batch} for batch in batches)
        assert mine.isdisjoint(theirs)
        assert mine | theirs == ids
        for reflection_id in [*batches[0], *batches[1]]:
            await first.release(reflection_id)
        one = next(iter(batches[0] or batches[1]))  # a trigger's delivery against a sweep's
        assert sorted(
            await asyncio.gather(first.claim_one(one, lease_seconds=60), second.claim_one(one, lease_seconds=60))
        ) == [False, True]
        await second.release(one)
