"""Schemathesis over the gateway's own OpenAPI: every operation, every check, seeded (pma_core.testing.fuzz)."""

from __future__ import annotations

from pathlib import Path

from pma_core.testing.fuzz import fuzz


async def test_every_operation_answers_within_its_schema_under_fuzzing(gateway_url: str) -> None:
    run = await fuzz(gateway_url, service_config=Path(__file__).with_name("fuzz.toml"))
    assert run.passed, run.output
