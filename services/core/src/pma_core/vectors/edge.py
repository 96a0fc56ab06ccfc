"""The embedded vector store: Qdrant's own engine in-process (`qdrant_edge`), one shard per collection.

Layout: `<path>/<collection>/` holds the shard and our `collection.json` (size, distance, and the
identity of the embedder whose vectors it holds: the engine keeps no collection metadata), so these are
known without loading the shard. Only the memory-gateway process opens these files (the engine
locks each shard's write-ahead log; a second opener fails).

Threading, measured on qdrant-edge 0.9.0: every engine call holds the GIL (another Python thread got no
turn during a 10 s optimize), so `asyncio.to_thread` cannot free the loop; a filtered query costs the same
either way (~0.6 ms at 30k points). Calls run inline, so no two ever overlap (no call can meet a closing
shard); upserts yield to the loop between chunks, and `optimize` runs in a child process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, cast

import numpy as np
import qdrant_edge as qe

from pma_core.vectors import port
from pma_core.vectors.port import (
    CREATED_AT,
    KIND,
    USER_ID,
    CollectionInfo,
    CollectionNotFoundError,
    CollectionSpec,
    Distance,
    EmbedderMismatchError,
    EnsureResult,
    VectorFilter,
    VectorHit,
    VectorPoint,
    VectorSizeMismatchError,
    VectorStoreError,
)

_META_FILE: Final = "collection.json"
_ENGINE_CONFIG_FILE: Final = "edge_config.json"
# ~27 µs per 384-d point: a chunk keeps the loop blocked for under 10 ms at a time.
_UPSERT_CHUNK: Final = 256
_DISTANCES = {"cosine": qe.Distance.Cosine, "dot": qe.Distance.Dot, "euclid": qe.Distance.Euclid}
_INDEXES: Final[dict[str, qe.PayloadSchemaType | qe.KeywordIndexParams]] = {
    USER_ID: qe.KeywordIndexParams(is_tenant=True),
    KIND: qe.PayloadSchemaType.Keyword,
    CREATED_AT: qe.PayloadSchemaType.Datetime,
}
# The engine's words when a shard is loaded with another vector size ("expected" is what we asked).
_ENGINE_MISMATCH = re.compile(r"expected vector size (\d+), but got (\d+)")
_OPTIMIZE_SCRIPT: Final = "import sys,qdrant_edge as q;s=q.EdgeShard.load(sys.argv[1]);s.optimize();s.close()"


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

    def __init__(self, path: Path) -> None:
        self._path = path
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
                _write_spec(col.directory, col.spec)
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
                await asyncio.sleep(0)

    async def delete(self, collection: str, ids: Sequence[str]) -> None:
        """Remove points by id; ids that are not there are ignored."""
        point_ids: list[qe.PointId] = [port.canonical_id(i) for i in ids]
        await self._update(collection, qe.UpdateOperation.delete_points(point_ids))

    async def delete_by_filter(self, collection: str, flt: VectorFilter) -> None:
        """Remove the tenant's points that match the filter."""
        await self._update(collection, qe.UpdateOperation.delete_points_by_filter(_edge_filter(flt)))

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
            filter=_edge_filter(flt),
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
        request = qe.CountRequest(exact=True, filter=_edge_filter(flt) if flt else None)
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
            col.shard = None
            col.ready.clear()
            try:
                await _optimize_in_child(col.directory)
            finally:
                self._reopen_after_optimize(col)

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
                stored = _read_spec(self._path / name)
                if stored is None:
                    raise CollectionNotFoundError(name)
                col = self._collections[name] = _Collection(stored, self._path / name, _load(self._path / name))
            return col

    def _open_or_create(self, spec: CollectionSpec) -> tuple[_Collection, EnsureResult]:
        directory = self._path / spec.name
        stored = _read_spec(directory)
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
            _write_spec(directory, spec)
            return _Collection(spec, directory, shard), "exists"
        with _engine(spec.name):
            shard = qe.EdgeShard.create(str(directory), _config(spec))
            _create_missing_indexes(shard)
            shard.flush()
        _write_spec(directory, spec)
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


async def _optimize_in_child(directory: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _OPTIMIZE_SCRIPT,
        str(directory),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await child.communicate()
    except asyncio.CancelledError:
        # The engine's optimizer survives being killed (the old segments stay until the new one is
        # complete; checked by killing it mid-run): stop it so the shard can be reopened now.
        child.terminate()
        await child.wait()
        raise
    if child.returncode != 0:
        detail = stderr.decode(errors="replace").strip()[-500:]
        raise VectorStoreError(f"optimizing {directory.name!r} failed (exit {child.returncode}): {detail}")


def _config(spec: CollectionSpec) -> qe.EdgeConfig:
    return qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=spec.size, distance=_DISTANCES[spec.distance]))


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


def _read_spec(directory: Path) -> CollectionSpec | None:
    """What `collection.json` says; None when the collection was never (completely) created."""
    try:
        meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
        embedder = meta.get("embedder")  # absent in files written before identities were kept
        return CollectionSpec(
            directory.name,
            int(meta["size"]),
            cast(Distance, meta["distance"]),
            embedder=str(embedder) if embedder is not None else None,
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VectorStoreError(f"unreadable {directory / _META_FILE}: {exc}") from exc


def _write_spec(directory: Path, spec: CollectionSpec) -> None:
    # Write then rename, so a crash never leaves a half-written file that reads as a collection.
    temporary = directory / f"{_META_FILE}.tmp"
    meta: dict[str, object] = {"size": spec.size, "distance": spec.distance}
    if spec.embedder is not None:
        meta["embedder"] = spec.embedder
    temporary.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(temporary, directory / _META_FILE)


def _close_shard(col: _Collection, *, reason: VectorStoreError) -> None:
    shard, col.shard, col.gone = col.shard, None, reason
    col.ready.set()  # wake waiters, who now see `gone`
    if shard is not None:
        with _engine(col.spec.name):
            shard.close()


def _edge_filter(flt: VectorFilter) -> qe.Filter:
    must: list[qe.ConditionType] = [qe.FieldCondition(USER_ID, match=qe.MatchValue(flt.user_id))]
    if flt.kinds is not None:
        must.append(qe.FieldCondition(KIND, match=qe.MatchAny(list(flt.kinds))))
    low, high = flt.created_bounds()
    if low or high:
        must.append(qe.FieldCondition(CREATED_AT, range=qe.RangeDateTime(gte=low, lt=high)))
    for key, value in (flt.match or {}).items():
        must.append(qe.FieldCondition(key, match=qe.MatchValue(_match_value(value))))
    return qe.Filter(must=must)


def _match_value(value: str | int | bool) -> str | int | bool:
    # qdrant-edge 0.9.0 reads a Python bool as the integer 1/0 (so `True` never matches a boolean
    # field, and matches `1`); numpy's bool is read as a boolean.
    if isinstance(value, bool):
        return cast(bool, np.bool_(value))
    return value


@contextmanager
def _engine(collection: str) -> Iterator[None]:
    """Turn the engine's bare `Exception`s into `VectorStoreError`, naming the collection."""
    try:
        yield
    except (ValueError, VectorStoreError):
        raise
    except Exception as exc:
        raise VectorStoreError(f"qdrant-edge failed on {collection!r}: {exc}") from exc
