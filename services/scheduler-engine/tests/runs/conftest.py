"""The scheduler-engine under test: served on a real port over real Postgres and Valkey.

The memory-gateway is down (a closed port); the planner is a stand-in that records the reports of
finished runs (standin_planner.py), so a run's whole path is tested over real HTTP. The solver runs with
one worker, a fixed seed and a short limit, so runs are quick and repeatable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from uuid import UUID

import pytest

from pma_core.clients import SchedulerEngineClient
from pma_core.contracts.scheduling import RunRead
from pma_core.embedded.process import free_port
from pma_core.settings import HttpSettings, PostgresSettings, ServiceUrls, ValkeySettings
from pma_core.testing.serve import serve
from scheduler_engine.main import create_app
from scheduler_engine.settings import SchedulerSettings, Settings

from .gated_solver import GatedSolver
from .standin_planner import StandInPlanner


@pytest.fixture
async def standin_planner() -> AsyncIterator[StandInPlanner]:
    planner = StandInPlanner()
    async with serve(planner.app()) as url:
        planner.url = url
        yield planner


@pytest.fixture
def scheduler_port() -> int:
    return free_port()


@pytest.fixture
def scheduler_settings(
    postgres_settings: PostgresSettings,
    valkey_settings: ValkeySettings,
    standin_planner: StandInPlanner,
    scheduler_port: int,
) -> Settings:
    return Settings(
        postgres=postgres_settings,
        valkey=valkey_settings,
        services=ServiceUrls(
            memory_gateway_url=f"http://127.0.0.1:{free_port()}", planner_engine_url=standin_planner.url
        ),
        http=HttpSettings(client_retries=0),
        scheduler=SchedulerSettings(
            time_limit_seconds=1.0,
            num_workers=1,
            random_seed=0,
            sweep_interval_seconds=0.3,
            public_base_url=f"http://127.0.0.1:{scheduler_port}",
        ),
    )


@pytest.fixture
async def scheduler(scheduler_settings: Settings, scheduler_port: int) -> AsyncIterator[SchedulerEngineClient]:
    async with serve(create_app(scheduler_settings), port=scheduler_port) as url:
        client = SchedulerEngineClient(url, timeout=15.0, retries=0)
        try:
            yield client
        finally:
            await client.aclose()


async def finished_run(client: SchedulerEngineClient, user_id: str, run_id: UUID, *, seconds: float = 20) -> RunRead:
    """The run once it finished (polling, bounded)."""
    async with asyncio.timeout(seconds):
        while True:
            run = await client.get_run(user_id, run_id)
            if run.status not in ("pending", "running"):
                return run
            await asyncio.sleep(0.05)


@pytest.fixture
def solver() -> Iterator[GatedSolver]:
    """The real solver behind a gate, for tests that run a `RunService` themselves (gated_solver.py)."""
    solver = GatedSolver()
    yield solver
    solver.gate.set()  # a failed test leaves no solve waiting
