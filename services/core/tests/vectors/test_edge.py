"""What only the embedded engine has: its files, its one-opener lock, optimize in a child process, and flushes."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge as qe

from pma_core.testing.resident import resident_under
from pma_core.vectors import (
    CollectionSpec,
    EdgeVectorStore,
    VectorFilter,
    VectorPoint,
    VectorSizeMismatchError,
    VectorStoreError,
)
from pma_core.vectors.edge import log_bytes_per_point


def _points(count: int, dim: int, *, seed: int) -> list[VectorPoint]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [VectorPoint(str(uuid.uuid4()), v.tolist(), {"user_id": f"u{i % 3}"}) for i, v in enumerate(vectors)]


async def test_the_size_is_kept_beside_the_shard(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path)
    try:
        await store.ensure_collection(CollectionSpec("events", 12, "dot"))
    finally:
        await store.close()
    assert json.loads((tmp_path / "events" / "collection.json").read_text()) == {
        "size": 12,
        "distance": "dot",
    }


async def test_a_shard_without_its_size_file_is_checked_by_the_engine(tmp_path: Path) -> None:
    # As after a crash between creating the shard and writing collection.json.
    store = EdgeVectorStore(tmp_path)
    await store.ensure_collection(CollectionSpec("events", 12))
    await store.close()
    (tmp_path / "events" / "collection.json").unlink()

    store = EdgeVectorStore(tmp_path)
    try:
        with pytest.raises(VectorSizeMismatchError) as caught:
            await store.ensure_collection(CollectionSpec("events", 24))
        assert (caught.value.existing, caught.value.requested) == (12, 24)
        assert "run `pma reindex`" in str(caught.value)
        assert await store.ensure_collection(CollectionSpec("events", 12)) == "exists"
    finally:
        await store.close()
    assert json.loads((tmp_path / "events" / "collection.json").read_text())["size"] == 12


async def test_a_second_opener_of_the_same_files_gets_a_clear_error(tmp_path: Path) -> None:
    first, second = EdgeVectorStore(tmp_path), EdgeVectorStore(tmp_path)
    try:
        await first.ensure_collection(CollectionSpec("events", 8))
        with pytest.raises(VectorStoreError, match="cannot open the shard"):
            await second.count("events")
    finally:
        await first.close()
        await second.close()


async def test_ping_fails_when_the_directory_is_gone(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path / "missing")
    try:
        with pytest.raises(VectorStoreError, match="missing or not writable"):
            await store.ping()
    finally:
        await store.close()


async def test_optimize_builds_the_index_in_a_child_while_the_loop_keeps_serving(tmp_path: Path) -> None:
    # 7000 x 384 floats is past the engine's indexing threshold (10 MB): optimize builds a real HNSW
    # index, seconds of work that would freeze the event loop if it ran in this process.
    store = EdgeVectorStore(tmp_path)
    points = _points(7000, 384, seed=1)
    try:
        await store.ensure_collection(CollectionSpec("doc_chunks", 384))
        await store.upsert("doc_chunks", points)
        gaps: list[float] = []
        optimizing = asyncio.create_task(store.optimize("doc_chunks"))
        await asyncio.sleep(0)
        waiting_search = asyncio.create_task(
            store.search("doc_chunks", points[5].vector, flt=VectorFilter(user_id="u2"), limit=1)
        )
        searched_early = False
        while not optimizing.done():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            gaps.append(time.perf_counter() - started)
            searched_early |= waiting_search.done() and not optimizing.done()
        await optimizing
        hits = await waiting_search  # it waited for the shard to come back, then answered
        assert [h.id for h in hits] == [points[5].id]
        assert not searched_early, "a search answered while the shard was closed for optimize"
        # Order and proportions, not wall-clock bounds: the loop kept ticking while optimize ran, and no
        # single stall took most of it (in-process, the build would be one tick that spans the whole run).
        # Even the child's start (a Python interpreter loading qdrant-edge) is many 10 ms ticks.
        assert len(gaps) >= 5, f"the loop ticked {len(gaps)} times while optimize ran"
        assert max(gaps) < sum(gaps) / 2, f"the event loop was blocked for {max(gaps):.2f}s of {sum(gaps):.2f}s"
        assert await store.count("doc_chunks") == 7000
    finally:
        await store.close()
    shard = qe.EdgeShard.load(str(tmp_path / "doc_chunks"))
    try:
        assert shard.info().indexed_vectors_count == 7000
    finally:
        shard.close()


async def test_cancelling_optimize_stops_the_child_and_keeps_the_data(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path)
    points = _points(7000, 384, seed=2)
    try:
        await store.ensure_collection(CollectionSpec("doc_chunks", 384))
        await store.upsert("doc_chunks", points)
        optimizing = asyncio.create_task(store.optimize("doc_chunks"))
        await asyncio.sleep(0.5)  # the child is at work by now (a full run takes seconds)
        assert not optimizing.done()
        optimizing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await optimizing
        assert await store.count("doc_chunks") == 7000
        hits = await store.search("doc_chunks", points[9].vector, flt=VectorFilter(user_id="u0"), limit=1)
        assert [h.id for h in hits] == [points[9].id]
    finally:
        await store.close()


def _flushed_count(directory: Path) -> int:
    """The points the shard's segments hold without its log: what the engine has flushed so far.

    Reading the files of a shard another store has open is safe; the copy is opened on its own.
    """
    copy = directory.parent / f"{directory.name}-flushed"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(directory / "segments", copy / "segments")
    shutil.copy(directory / "edge_config.json", copy)
    shard = qe.EdgeShard.load(str(copy))
    try:
        return shard.count(qe.CountRequest(exact=True))
    finally:
        shard.close()
        shutil.rmtree(copy)


async def test_writes_are_flushed_once_enough_log_gathered_not_each_time(tmp_path: Path) -> None:
    # Without a flush the engine keeps every write in its log (issue 9: 1.2 GB after 27 reindexes); a flush
    # after each write would hold the GIL for ~0.1 s each time. By default the store flushes every ~16 MiB.
    store = EdgeVectorStore(tmp_path, flush_after_bytes=100 * log_bytes_per_point(8))
    try:
        await store.ensure_collection(CollectionSpec("events", 8))
        await store.upsert("events", _points(60, 8, seed=3))
        assert _flushed_count(tmp_path / "events") == 0
        await store.upsert("events", _points(60, 8, seed=4))  # past 100 points' worth of log: flushed
        assert _flushed_count(tmp_path / "events") == 120
        await store.upsert("events", _points(60, 8, seed=5))  # the count starts again
        assert _flushed_count(tmp_path / "events") == 120
    finally:
        await store.close()
    assert _flushed_count(tmp_path / "events") == 180  # close flushes the rest


async def test_compact_flushes_what_the_log_holds(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path)
    try:
        await store.ensure_collection(CollectionSpec("events", 8))
        await store.upsert("events", _points(100, 8, seed=5))
        assert _flushed_count(tmp_path / "events") == 0
        await store.compact("events")
        assert _flushed_count(tmp_path / "events") == 100
    finally:
        await store.close()


async def test_compact_optimizes_again_an_indexed_collection_that_was_rewritten(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path)
    await store.ensure_collection(CollectionSpec("doc_chunks", 64))
    await store.close()
    # A 10 kB indexing threshold (the default is 10 MB) gets a real HNSW segment out of 3,000 small points.
    config = qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=64, distance=qe.Distance.Cosine),
        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=10),
    )
    qe.EdgeShard.load(str(tmp_path / "doc_chunks"), config).close()
    segments = tmp_path / "doc_chunks" / "segments"
    points = _points(3000, 64, seed=6)
    store = EdgeVectorStore(tmp_path)
    try:
        await store.upsert("doc_chunks", points)
        await store.optimize("doc_chunks")
        optimized = _allocated(segments)
        await store.upsert("doc_chunks", [VectorPoint(p.id, p.vector, {**p.payload, "v": 2}) for p in points])
        await store.compact("doc_chunks")  # flushes first: the rewritten copies are on disk beside the old
        compacted = _allocated(segments)
        assert await store.count("doc_chunks") == 3000
        hits = await store.search("doc_chunks", points[7].vector, flt=VectorFilter(user_id="u1"), limit=1)
        assert [(h.id, h.payload["v"]) for h in hits] == [(points[7].id, 2)]
    finally:
        await store.close()
    # The rewrite doubled the segments (measured: 1.5 MB optimized, 2.8 MB rewritten); compact gives it back.
    assert compacted < 1.3 * optimized, (optimized, compacted)


def _allocated(directory: Path) -> int:
    return sum(f.stat().st_blocks * 512 for f in directory.rglob("*") if f.is_file())


async def test_a_reopened_shard_reads_its_files_in_only_as_they_are_used(tmp_path: Path) -> None:
    # Each payload index map is preallocated (~16 MiB); opened "cached", all of it would be read in at once.
    store = EdgeVectorStore(tmp_path)
    try:
        await store.ensure_collection(CollectionSpec("agent_memories", 384))
        await store.upsert("agent_memories", _points(2_000, 384, seed=5))
    finally:
        await store.close()
    store = EdgeVectorStore(tmp_path)
    try:
        query = _points(1, 384, seed=6)[0].vector
        hits = await store.search("agent_memories", query, flt=VectorFilter("u1"), limit=3)
        assert len(hits) == 3
        resident = resident_under(tmp_path)
    finally:
        await store.close()
    # Measured: 20 MiB cold (3 MiB of vectors, the log, the index pages the search and the open read), 49 MiB
    # when the shard is opened "cached" (the engine's default): the preallocated index maps read in whole.
    assert 0 < resident < 32 * 1024 * 1024, f"{resident / 1_048_576:.1f} MiB of the shard's files resident"
