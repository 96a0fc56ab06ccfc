"""Schemathesis over the observer's own OpenAPI: every operation, every check, seeded (pma_core.testing.fuzz),
with the stand-ins for the three services it reads and the fake Coda."""

from __future__ import annotations

from pathlib import Path

from pma_core.testing.fuzz import fuzz

from .conftest import Observer


async def test_every_operation_answers_within_its_schema_under_fuzzing(observer: Observer) -> None:
    run = await fuzz(str(observer.http.base_url).rstrip("/"), service_config=Path(__file__).parents[1] / "fuzz.toml")
    assert run.passed, run.output
