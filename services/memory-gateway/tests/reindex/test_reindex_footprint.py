"""What repeated reindexes leave behind in the embedded Qdrant: disk (write-ahead log, segments) and memory.

Issue 9: 27 reindexes back to back left a 1.2 GB write-ahead log and a 545 MB gateway until a restart. The
engine drops log segments (32 MiB each) only when the shard is flushed, keeping the newest closed one, and
the store flushed only on close. After a reindex the log must hold at most two segments, however many
reindexes ran, and the segments must not grow. Telling that apart from a log that keeps every write takes
more than two segments' worth of writes (below that, neither drops anything), hence the large vectors.

The figures are printed straight to the terminal (pytest's capture is bypassed, so they show without `-s`)
and kept as `record_property` entries for the JUnit report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.settings import EmbeddingSettings
from pma_core.testing.serve import serve
from pma_core.vectors import Collection

# 8,192 dimensions (the hashing embedder's largest) write ~24 kB of log a point, 9.5 MiB a reindex: 8
# reindexes write 76 MiB, well past the two segments (64 MiB) a compacted log keeps.
DIMENSIONS = 8192
MEMORIES = 400
REINDEXES = 8
MIB = 1024 * 1024
# The engine's log segment (qdrant-edge 0.9.0; not configurable from Python).
WAL_SEGMENT = 32 * MIB
# Right after a flush the log holds the newest closed segment and the open one, plus a few pages: the
# `first-index` file and the first page of the next segment, which the engine preallocates.
WAL_BOUND = 2 * WAL_SEGMENT + MIB


@dataclass(frozen=True)
class Footprint:
    wal: int
    segments: int
    rss: int

    @property
    def disk(self) -> int:
        return self.wal + self.segments

    def line(self, label: str) -> str:
        return (
            f"{label:>12}: wal {self.wal / MIB:6.1f} MiB  segments {self.segments / MIB:6.1f} MiB  "
            f"disk {self.disk / MIB:6.1f} MiB  rss {self.rss / MIB:6.0f} MiB"
        )


def _allocated(directory: Path) -> int:
    """Bytes the files take on disk (the engine preallocates log segments sparsely: their length says little)."""
    return sum(f.stat().st_blocks * 512 for f in directory.rglob("*") if f.is_file())


def _footprint(collection_dir: Path) -> Footprint:
    return Footprint(
        wal=_allocated(collection_dir / "wal"),
        segments=_allocated(collection_dir / "segments"),
        rss=psutil.Process().memory_info().rss,
    )


async def _seed(postgres_url: str) -> None:
    # Straight into Postgres, not through remember: the rows are what a reindex reads, and remember's own
    # work (deduplication, embedding) would only make the test slower. Marked indexed, so that the repair
    # loop leaves them alone and every write to the index is a reindex's.
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(
            """INSERT INTO memories (user_id, kind, text, content_hash, indexed_at)
               SELECT 'alice', 'fact', 'note ' || i || ': the quarterly report section ' || i || ' is due',
                      md5(i::text), now()
               FROM generate_series(1, $1) AS i""",
            MEMORIES,
        )
    finally:
        await conn.close()


async def _reindex(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/admin/reindex", json={"collections": [Collection.AGENT_MEMORIES]})).status_code == 202
    for _ in range(1200):
        status = (await http.get("/v1/admin/reindex")).json()
        if status["state"] != "running":
            assert status["state"] == "done", status
            assert status["done"] == MEMORIES
            return
        await asyncio.sleep(0.02)
    raise AssertionError("reindex did not finish")


async def test_repeated_reindexes_keep_the_embedded_store_compact(
    gateway_settings: Settings,
    postgres_url: str,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    settings = gateway_settings.model_copy(
        update={"embedding": EmbeddingSettings(provider="hashing", hashing_dimensions=DIMENSIONS)}
    )
    collection_dir = settings.qdrant.path / Collection.AGENT_MEMORIES
    await _seed(postgres_url)
    footprints: list[Footprint] = []
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30.0) as http:
        before = _footprint(collection_dir)
        for _ in range(REINDEXES):
            await _reindex(http)
            footprints.append(_footprint(collection_dir))
    lines = [before.line("before"), *(f.line(f"reindex {i}") for i, f in enumerate(footprints, start=1))]
    with capsys.disabled():
        print(f"\n{Collection.AGENT_MEMORIES}, {MEMORIES} memories of {DIMENSIONS} dimensions:", *lines, sep="\n")
    first, last = footprints[0], footprints[-1]
    for name in ("wal", "segments", "rss"):
        record_property(f"{name}_before_bytes", getattr(before, name))
        record_property(f"{name}_after_first_reindex_bytes", getattr(first, name))
        record_property(f"{name}_after_last_reindex_bytes", getattr(last, name))
    # The log after each reindex, not only the last: it saws between one and two segments as they fill.
    assert max(f.wal for f in footprints) <= WAL_BOUND, "a reindex left more than two log segments"
    assert last.segments < 1.5 * first.segments
