"""`pma migrate` and `pma collections` as an operator runs them, against real Postgres and embedded Qdrant."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pma_core.cli import app
from pma_core.migrations import default_migrations_dir

runner = CliRunner()


def test_migrate_applies_then_finds_nothing_to_apply(empty_postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_URL", empty_postgres_url)

    first = runner.invoke(app, ["migrate"])
    second = runner.invoke(app, ["migrate"])

    assert first.exit_code == 0, first.output
    files = sorted(path.name for path in default_migrations_dir().glob("*.sql"))
    assert files[:2] == ["002_planner_memory_schema.sql", "003_memory_gateway.sql"]
    assert first.output.splitlines() == [f"applied          {name}" for name in files]
    assert second.exit_code == 0, second.output
    assert second.output.splitlines() == [*(f"already applied  {name}" for name in files), "nothing to apply"]


def test_collections_follow_the_embedder_and_refuse_a_resize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_PATH", str(tmp_path / "qdrant"))
    monkeypatch.delenv("QDRANT_URL", raising=False)
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    monkeypatch.setenv("EMBEDDING_HASHING_DIMENSIONS", "32")

    created = runner.invoke(app, ["collections"])
    again = runner.invoke(app, ["collections"])
    resized = runner.invoke(app, ["collections", "--size", "64"])

    assert created.exit_code == 0, created.output
    assert created.output.splitlines() == [
        "embedder hashing-32: 32 dimensions",
        "created  doc_chunks",
        "created  events",
        "created  agent_memories",
        "created  daily_threads",
    ]
    assert again.output.splitlines()[1] == "exists   doc_chunks"
    assert resized.exit_code == 1
    assert "pma reindex" in resized.output
