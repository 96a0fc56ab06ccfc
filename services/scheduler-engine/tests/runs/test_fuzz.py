"""Schemathesis over the scheduler's own OpenAPI: every operation, every check, seeded (pma_core.testing.fuzz),
with the stand-in planner answering for the tasks."""

from __future__ import annotations

from pathlib import Path

from pma_core.clients import SchedulerEngineClient
from pma_core.testing.fuzz import fuzz


async def test_every_operation_answers_within_its_schema_under_fuzzing(scheduler: SchedulerEngineClient) -> None:
    run = await fuzz(scheduler.base_url, service_config=Path(__file__).parents[1] / "fuzz.toml")
    assert run.passed, run.output
