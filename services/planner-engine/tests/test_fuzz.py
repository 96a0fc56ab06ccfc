"""Schemathesis over the planner's own OpenAPI: every operation, every check, seeded (pma_core.testing.fuzz).

The planner runs offline, its memory-gateway and scheduler down: the answers it gives then (plans without
recalled context, a 502 naming the scheduler) must be declared too."""

from __future__ import annotations

from pathlib import Path

from pma_core.clients import PlannerEngineClient
from pma_core.testing.fuzz import fuzz


async def test_every_operation_answers_within_its_schema_under_fuzzing(planner: PlannerEngineClient) -> None:
    run = await fuzz(planner.base_url, service_config=Path(__file__).with_name("fuzz.toml"))
    assert run.passed, run.output
