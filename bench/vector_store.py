"""Load, index and query each vector-store adapter; print a Markdown table.

    uv run python bench/vector_store.py [--points 30000] [--queries 200]

Every adapter gets the same data in a temporary directory: random unit vectors (fixed seed) spread
over `--users` tenants, queried with a `user_id` filter (the system's only kind of search). The
qdrant-client local mode scans in Python (~90 ms a query at 10k points), so it gets at most
`--local-points`. A "loop stall" is the longest the event loop went without running meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pma_core.vectors import (
    CollectionSpec,
    EdgeVectorStore,
    VectorFilter,
    VectorPoint,
    VectorStore,
)
from pma_core.vectors.qdrant_server import QdrantClientVectorStore

COLLECTION = "bench"
_BATCH = 256
Vectors = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class Row:
    adapter: str
    points: int
    load_seconds: float
    load_stall_ms: float
    optimize_seconds: float
    optimize_stall_ms: float
    before: tuple[float, float]
    after: tuple[float, float]


def unit_vectors(count: int, dim: int, *, seed: int) -> Vectors:
    rng = np.random.default_rng(seed)
    vectors: Vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


async def load(store: VectorStore, vectors: Vectors, *, users: int) -> None:
    """Write every point in batches of 256, yielding after each build so the ticker times the store alone."""
    for start in range(0, len(vectors), _BATCH):
        batch = [
            VectorPoint(str(uuid.uuid4()), v.tolist(), {"user_id": f"user-{(start + i) % users}", "kind": "note"})
            for i, v in enumerate(vectors[start : start + _BATCH])
        ]
        await asyncio.sleep(0)
        await store.upsert(COLLECTION, batch)


async def timed_with_stall(work: Callable[[], Coroutine[Any, Any, None]]) -> tuple[float, float]:
    """Seconds the work took, and the longest gap (ms) in a 1 ms ticker running beside it."""
    longest = 0.0
    task = asyncio.create_task(work())
    started = time.perf_counter()
    while not task.done():
        tick = time.perf_counter()
        await asyncio.sleep(0.001)
        longest = max(longest, time.perf_counter() - tick)
    await task
    return time.perf_counter() - started, longest * 1000


async def query_latencies(store: VectorStore, queries: Vectors, *, users: int) -> tuple[float, float]:
    """p50 and p95 (ms) of `user_id`-filtered top-10 searches."""
    latencies = []
    for i, query in enumerate(queries):
        flt = VectorFilter(user_id=f"user-{i % users}")
        started = time.perf_counter()
        await store.search(COLLECTION, query.tolist(), flt=flt, limit=10)
        latencies.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(latencies, [50, 95])
    return float(p50), float(p95)


async def bench(name: str, store: VectorStore, vectors: Vectors, queries: Vectors, users: int) -> Row:
    try:
        await store.ensure_collection(CollectionSpec(name=COLLECTION, size=vectors.shape[1]))
        load_seconds, load_stall = await timed_with_stall(lambda: load(store, vectors, users=users))
        before = await query_latencies(store, queries, users=users)
        optimize_seconds, optimize_stall = await timed_with_stall(lambda: store.optimize(COLLECTION))
        after = await query_latencies(store, queries, users=users)
    finally:
        await store.close()
    return Row(name, len(vectors), load_seconds, load_stall, optimize_seconds, optimize_stall, before, after)


def table(rows: list[Row], *, dim: int, users: int, queries: int) -> str:
    lines = [
        f"dim {dim}, {users} users, {queries} user_id-filtered top-10 queries per adapter",
        "",
        "| adapter | points | load (s) | max loop stall in load (ms) | optimize (s) "
        "| max loop stall in optimize (ms) | query p50 / p95 before optimize (ms) "
        "| query p50 / p95 after optimize (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.adapter} | {r.points:,} | {r.load_seconds:.2f} | {r.load_stall_ms:.1f} "
            f"| {r.optimize_seconds:.2f} | {r.optimize_stall_ms:.1f} "
            f"| {r.before[0]:.3f} / {r.before[1]:.3f} | {r.after[0]:.3f} / {r.after[1]:.3f} |"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    vectors = unit_vectors(args.points, args.dim, seed=7)
    queries = unit_vectors(args.queries, args.dim, seed=8)
    local_points = min(args.points, args.local_points)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        edge = EdgeVectorStore(Path(workdir) / "edge")
        rows.append(await bench("edge (qdrant_edge)", edge, vectors, queries, args.users))
        local = QdrantClientVectorStore(path=Path(workdir) / "local")
        rows.append(await bench("qdrant-client local", local, vectors[:local_points], queries, args.users))
    print(table(rows, dim=args.dim, users=args.users, queries=args.queries))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=30_000, help="points for the edge adapter")
    parser.add_argument("--local-points", type=int, default=10_000, help="cap for qdrant-client local mode")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--dim", type=int, default=384)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
