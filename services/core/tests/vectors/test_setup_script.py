"""The operators' `qdrant/setup_collections.py`, run as they run it: a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[4] / "qdrant" / "setup_collections.py"


def _run(tmp_path: Path, *args: str, dimensions: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QDRANT_", "EMBEDDING_"))}
    env["QDRANT_PATH"] = str(tmp_path / "qdrant")
    if dimensions is not None:
        env["EMBEDDING_HASHING_DIMENSIONS"] = dimensions  # the offline embedder's size
    # From the temporary directory, so that no `.env` of a developer's checkout is read.
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_creates_then_finds_the_collections_and_refuses_another_size(tmp_path: Path) -> None:
    first = _run(tmp_path, "--size", "16")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.splitlines() == [
        "doc_chunks: created",
        "events: created",
        "agent_memories: created",
        "daily_threads: created",
    ]

    again = _run(tmp_path, dimensions="16")
    assert again.returncode == 0
    assert again.stdout.splitlines()[0] == "doc_chunks: exists"

    mismatch = _run(tmp_path)  # the offline embedder's default size, 384
    assert mismatch.returncode == 1
    assert mismatch.stdout == ""
    assert "'doc_chunks' holds vectors of size 16" in mismatch.stderr
    assert "size 384: run `pma reindex` to rebuild it from Postgres" in mismatch.stderr
