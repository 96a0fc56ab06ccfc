"""The embedded vector store: Qdrant's own engine in-process (`qdrant_edge`), one shard per collection.

Layout: `<path>/<collection>/` holds the shard and our `collection.json` (see `edge_files`). Only the
memory-gateway process opens these files (the engine locks each shard's write-ahead log; a second opener
fails).

Threading, measured on qdrant-edge 0.9.0: every engine call holds the GIL (another Python thread got no
turn during a 10 s optimize), so `asyncio.to_thread` cannot free the loop; a filtered query costs the same
either way (~0.6 ms at 30k points). Calls run inline, so no two ever overlap (no call can meet a closing
shard); upserts yield to the loop between chunks, and `optimize` runs in a child process.

The write-ahead log, measured on the same version: every upsert appends the points to `<collection>/wal/`
(32 MiB segments, ~5 bytes per dimension per point), and the engine drops a segment only once a flush has
written its changes into the segments, keeping the newest closed one; a flush also frees the space of
replaced payloads. The engine never flushes on its own, so the store does, after every ~16 MiB of
upserted points (a flush holds the GIL for ~50-130 ms) and in `compact`: the log stays at about two
segments however much is written, where without flushes it held every write since the shard was opened.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import qdrant_edge as qe

from pma_core.vectors import port
from pma_core.vectors.edge_files import optimize_in_child, read_spec, write_spec
from pma_core.vectors.edge_filter import edge_filter
from pma_core.vectors.port import (
    CREATED_AT,
    KIND,
    USER_ID,
    CollectionInfo,
    CollectionNotFoundError,
    CollectionSpec,
    EmbedderMismatchError,
    EnsureResult,
    VectorFilter,
    VectorHit,
    VectorPoint,
    VectorSizeMismatchError,
    VectorStoreError,
)

_ENGINE_CONFIG_FILE: Final = "edge_config.json"
# ~27 µs per 384-d point: a chunk keeps the loop blocked for under 10 ms at a time.
_UPSERT_CHUNK: Final = 256
_DISTANCES = {"cosine": qe.Distance.Cosine, "dot": qe.Distance.Dot, "euclid": qe.Distance.Euclid}
# Every file of a new shard is mapped "cold": read into memory page by page as searches touch it. The
# engine's default ("cached") reads the whole file in when a shard opens, preallocated space included: each
# payload index's map is ~16 MiB on disk from its first point, so a restarted gateway held ~50 MB more than
# the one that wrote the same points (bench/memory_footprint.py, docs/benchmarks.md). A shard keeps the
# placement it was created with; a reindex recreates the collections with this one.
_COLD: Final = qe.Memory.Cold
_INDEXES: Final[dict[str, qe.KeywordIndexParams | qe.DatetimeIndexParams]] = {
    USER_ID: qe.KeywordIndexParams(is_tenant=True, memory=_COLD),
    KIND: qe.KeywordIndexParams(memory=_COLD),
    CREATED_AT: qe.DatetimeIndexParams(memory=_COLD),
}
# The engine's words when a shard is loaded with another vector size ("expected" is what we asked).
_ENGINE_MISMATCH = re.compile(r"expected vector size (\d+), but got (\d+)")
# Flush after about this much log: half a log segment (32 MiB), so a closed segment is dropped soon after.
_FLUSH_AFTER_BYTES: Final = 16 * 1024 * 1024
# What a point adds to the log, at most: the engine writes a float in up to 5 bytes, plus the payload.
_LOG_BYTES_PER_DIMENSION: Final = 5
_LOG_BYTES_PER_PAYLOAD: Final = 512


@dataclass
class _Collection:
    spec: CollectionSpec
    directory: Path
    shard: qe.EdgeShard | None
    # Set while `shard` is usable; cleared while a child process optimizes the files.
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # One writer at a time, so a chunked upsert never interleaves with optimize, drop or close.
    writer: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Why the shard is closed for good (dropped, store closed, reopening failed); None while in use.
    gone: VectorStoreError | None = None
    # An estimate of the log written since the last flush (see the module's note on the write-ahead log).
    unflushed: int = 0

    def __post_init__(self) -> None:
        self.ready.set()

    async def open_shard(self) -> qe.EdgeShard:
        """The shard, once no optimize has it closed; raises if it was closed for good meanwhile."""
        while self.shard is None:
            if self.gone is not None:
                raise self.gone
            await self.ready.wait()
        return self.shard


class EdgeVectorStore:
    """`VectorStore` on embedded Qdrant shards under `path`; use it from one event loop."""

    def __init__(self, path: Path, *, flush_after_bytes: int = _FLUSH_AFTER_BYTES) -> None:
        """`flush_after_bytes`: how much log (estimated) a collection may gather before the store flushes it."""
        self._path = path
        self._flush_after = flush_after_bytes
        self._collections: dict[str, _Collection] = {}
        # Guards opening, creating and dropping: two tasks must never load the same shard.
        self._lock = asyncio.Lock()
        self._closed = False

    async def ping(self) -> None:
        """Fail when the store was closed or its directory is missing or read-only."""
        self._check_usable()
        if not self._path.is_dir() or not os.access(self._path, os.W_OK):
            raise VectorStoreError(f"vector store directory {self._path} is missing or not writable")

    async def ensure_collection(self, spec: CollectionSpec) -> EnsureResult:
        """Create the shard and its payload indexes, or check the existing one's size and embedder."""
        self._check_usable()
        async with self._lock:
            col = self._collections.get(spec.name)
            result: EnsureResult = "exists"
            if col is None:
                col, result = self._open_or_create(spec)
                self._collections[spec.name] = col
            if col.spec.size != spec.size:
                raise VectorSizeMismatchError(spec.name, existing=col.spec.size, requested=spec.size)
            if spec.embedder is not None and col.spec.embedder != spec.embedder:
                if col.spec.embedder is not None:
                    raise EmbedderMismatchError(spec.name, existing=col.spec.embedder, requested=spec.embedder)
                # Made before embedder identities were kept: its vectors are taken to be this embedder's.
                col.spec = replace(col.spec, embedder=spec.embedder)
                write_spec(col.directory, col.spec)
                result = "stamped"
        shard = await col.open_shard()
        with _engine(spec.name):
            _create_missing_indexes(shard)
        return result

    async def collection_info(self, name: str) -> CollectionInfo | None:
        """Size, distance and embedder stamp from `collection.json`; the point count from the shard."""
        try:
            col = await self._collection(name)
            shard = await col.open_shard()
        except CollectionNotFoundError:
            return None
        with _engine(name):
            points = shard.info().points_count
        spec = col.spec
        return CollectionInfo(
            name=name, size=spec.size, distance=spec.distance, points_count=points, embedder=spec.embedder
        )

    async def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None:
        """Write in chunks, yielding to the loop between them: the engine holds the GIL while it works."""
        col = await self._collection(collection)
        port.check_points(points, size=col.spec.size, collection=collection)
        async with col.writer:
            shard = await col.open_shard()
            for start in range(0, len(points), _UPSERT_CHUNK):
                chunk = points[start : start + _UPSERT_CHUNK]
                batch = [qe.Point(port.canonical_id(p.id), list(p.vector), dict(p.payload)) for p in chunk]
                with _engine(collection):
                    shard.update(qe.UpdateOperation.upsert_points(batch))
                    _logged(col, shard, points=len(batch), limit=self._flush_after)
                await asyncio.sleep(0)

    async def delete(self, collection: str, ids: Sequence[str]) -> None:
        """Remove points by id; ids that are not there are ignored."""
        point_ids: list[qe.PointId] = [port.canonical_id(i) for i in ids]
        await self._update(collection, qe.UpdateOperation.delete_points(point_ids))

    async def delete_by_filter(self, collection: str, flt: VectorFilter) -> None:
        """Remove the tenant's points that match the filter."""
        await self._update(collection, qe.UpdateOperation.delete_points_by_filter(edge_filter(flt)))

    async def search(
        self,
        collection: str,
        vector: Sequence[float],
        *,
        flt: VectorFilter,
        limit: int,
        score_threshold: float | None = None,
    ) -> list[VectorHit]:
        """Nearest points within one tenant's filter, best first."""
        port.check_limit(limit)
        col = await self._collection(collection)
        port.check_vector(vector, size=col.spec.size, collection=collection)
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(list(vector)),
            filter=edge_filter(flt),
            with_payload=True,
            with_vector=False,
            score_threshold=score_threshold,
        )
        shard = await col.open_shard()
        with _engine(collection):
            scored = shard.query(request)
        return [VectorHit(id=str(p.id), score=p.score, payload=dict(p.payload or {})) for p in scored]

    async def retrieve(self, collection: str, ids: Sequence[str]) -> list[VectorPoint]:
        """Points with vectors and payloads, in the order of `ids`."""
        wanted = [port.canonical_id(i) for i in ids]
        shard = await (await self._collection(collection)).open_shard()
        point_ids: list[qe.PointId] = list(wanted)
        with _engine(collection):
            # This binding takes both flags positionally, though its stubs mark them optional.
            records = shard.retrieve(point_ids, True, True)
        points = (VectorPoint(str(r.id), port.dense_vector(r.vector), dict(r.payload or {})) for r in records)
        return port.in_order(wanted, points)

    async def count(self, collection: str, flt: VectorFilter | None = None) -> int:
        """Exact count, of one tenant's matching points when a filter is given."""
        shard = await (await self._collection(collection)).open_shard()
        request = qe.CountRequest(exact=True, filter=edge_filter(flt) if flt else None)
        with _engine(collection):
            return shard.count(request)

    async def drop_collection(self, name: str) -> None:
        """Close the shard (after any write in flight) and delete its directory."""
        self._check_usable()
        port.check_collection_name(name)
        async with self._lock:
            col = self._collections.pop(name, None)
            if col is not None:
                async with col.writer:
                    _close_shard(col, reason=CollectionNotFoundError(name))
            directory = self._path / name
            if directory.exists():
                # File removal releases the GIL, unlike engine calls: worth the thread here.
                await asyncio.to_thread(shutil.rmtree, directory)

    async def optimize(self, collection: str) -> None:
        """Build the HNSW index in a child process, so this event loop keeps serving meanwhile.

        The shard is closed here while the child works (the engine allows one opener); calls on this
        collection wait for it, other collections are not affected.
        """
        col = await self._collection(collection)
        async with col.writer:
            shard = await col.open_shard()
            with _engine(collection):
                shard.close()  # flushes
            col.shard, col.unflushed = None, 0
            col.ready.clear()
            try:
                await optimize_in_child(col.directory)
            finally:
                self._reopen_after_optimize(col)

    async def compact(self, collection: str) -> None:
        """Flush, so the engine drops the log segments it no longer needs and reuses replaced payloads' space;
        a collection holding an indexed segment is optimized again instead, in a child process.

        A rewrite of every point (a reindex) moves the points out of an indexed segment into the
        appendable one: the old segment keeps its files, and search loses its index, until the optimizer
        runs. A collection never optimized has one appendable segment, and the flush is all it needs.
        """
        col = await self._collection(collection)
        async with col.writer:
            shard = await col.open_shard()
            with _engine(collection):
                indexed = shard.info().segments_count > 1
                if not indexed:
                    _flush(col, shard)
        if indexed:
            await self.optimize(collection)  # closing the shard for the child flushes it

    async def close(self) -> None:
        """Wait for writes in flight, then flush and close every shard."""
        if self._closed:
            return
        async with self._lock:
            self._closed = True
            collections, self._collections = list(self._collections.values()), {}
            for col in collections:
                async with col.writer:
                    _close_shard(col, reason=VectorStoreError("the vector store is closed"))

    def _check_usable(self) -> None:
        if self._closed:
            raise VectorStoreError("the vector store is closed")

    async def _collection(self, name: str) -> _Collection:
        """The open collection, loading its shard on first use."""
        self._check_usable()
        col = self._collections.get(name)
        if col is not None:
            return col
        port.check_collection_name(name)
        async with self._lock:
            col = self._collections.get(name)
            if col is None:
                stored = read_spec(self._path / name)
                if stored is None:
                    raise CollectionNotFoundError(name)
                col = self._collections[name] = _Collection(stored, self._path / name, _load(self._path / name))
            return col

    def _open_or_create(self, spec: CollectionSpec) -> tuple[_Collection, EnsureResult]:
        directory = self._path / spec.name
        stored = read_spec(directory)
        if stored is not None:
            if stored.size != spec.size:
                raise VectorSizeMismatchError(spec.name, existing=stored.size, requested=spec.size)
            if spec.embedder is not None and stored.embedder not in (None, spec.embedder):
                # Refused before the shard is loaded, as a size mismatch is.
                raise EmbedderMismatchError(spec.name, existing=str(stored.embedder), requested=spec.embedder)
            return _Collection(stored, directory, _load(directory)), "exists"
        if (directory / _ENGINE_CONFIG_FILE).exists():
            # A shard without our file: its creation was cut short. Loading with the wanted config
            # makes the engine check the vector size, and the file is written now.
            shard = _load(directory, spec)
            write_spec(directory, spec)
            return _Collection(spec, directory, shard), "exists"
        with _engine(spec.name):
            shard = qe.EdgeShard.create(str(directory), _config(spec))
            _create_missing_indexes(shard)
            shard.flush()
        write_spec(directory, spec)
        return _Collection(spec, directory, shard), "created"

    async def _update(self, collection: str, operation: qe.UpdateOperation) -> None:
        col = await self._collection(collection)
        async with col.writer:
            shard = await col.open_shard()
            with _engine(collection):
                shard.update(operation)

    def _reopen_after_optimize(self, col: _Collection) -> None:
        try:
            col.shard = _load(col.directory)
        except VectorStoreError as exc:
            # Forget it, so that the next call tries to load it afresh; waiters get the error now.
            col.gone = exc
            self._collections.pop(col.spec.name, None)
            raise
        finally:
            col.ready.set()


def _config(spec: CollectionSpec) -> qe.EdgeConfig:
    vectors = qe.EdgeVectorParams(size=spec.size, distance=_DISTANCES[spec.distance], memory=_COLD)
    return qe.EdgeConfig(vectors=vectors, payload_memory=_COLD, id_tracker_memory=_COLD)


def _load(directory: Path, spec: CollectionSpec | None = None) -> qe.EdgeShard:
    """Open a shard; with a spec the engine also checks its vector size against the files."""
    try:
        return qe.EdgeShard.load(str(directory), _config(spec) if spec else None)
    except Exception as exc:
        mismatch = _ENGINE_MISMATCH.search(str(exc))
        if spec is not None and mismatch:
            raise VectorSizeMismatchError(spec.name, existing=int(mismatch[2]), requested=spec.size) from exc
        raise VectorStoreError(f"cannot open the shard in {directory}: {exc}") from exc


def _create_missing_indexes(shard: qe.EdgeShard) -> None:
    # Only the missing ones: re-creating an index re-reads every point of the shard.
    existing = shard.info().payload_schema
    for field_name, schema in _INDEXES.items():
        if field_name not in existing:
            shard.update(qe.UpdateOperation.create_field_index(field_name, schema))


def _logged(col: _Collection, shard: qe.EdgeShard, *, points: int, limit: int) -> None:
    """Count what an upsert added to the log; flush once that reaches `limit` bytes."""
    col.unflushed += points * log_bytes_per_point(col.spec.size)
    if col.unflushed >= limit:
        _flush(col, shard)


def log_bytes_per_point(size: int) -> int:
    """What a point of `size` dimensions adds to the log, at most (the flush schedule's estimate)."""
    return _LOG_BYTES_PER_DIMENSION * size + _LOG_BYTES_PER_PAYLOAD


def _flush(col: _Collection, shard: qe.EdgeShard) -> None:
    shard.flush()
    col.unflushed = 0


def _close_shard(col: _Collection, *, reason: VectorStoreError) -> None:
    shard, col.shard, col.gone = col.shard, None, reason
    col.ready.set()  # wake waiters, who now see `gone`
    if shard is not None:
        with _engine(col.spec.name):
            shard.close()


@contextmanager
def _engine(collection: str) -> Iterator[None]:
    """Turn the engine's bare `Exception`s into `VectorStoreError`, naming the collection."""
    try:
        yield
    except (ValueError, VectorStoreError):
        raise
    except Exception as exc:
        raise VectorStoreError(f"qdrant-edge failed on {collection!r}: {exc}") from exc
