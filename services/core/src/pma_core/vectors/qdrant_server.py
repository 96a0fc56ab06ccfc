"""The vector store on `qdrant_client.AsyncQdrantClient`: a Qdrant server, or the client's local mode.

Local mode (`path=`) runs the very client code the server path uses, against the client's pure-Python
engine: it is for tests and small setups (it scans: ~90 ms per filtered query at 10k points; and it keeps
no payload indexes).

The identity of the embedder whose vectors a collection holds is stamped in the collection's own
metadata (`config.metadata["pma_embedder"]`), which the server and local mode both keep; a server too
old to keep collection metadata gets a warning and no check.
"""

from __future__ import annotations

import asyncio
import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import httpx
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ApiException, UnexpectedResponse

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
    VectorStoreUnreachableError,
    canonical_id,
    check_collection_name,
    check_limit,
    check_points,
    dense_vector,
    in_order,
)

# Keeps one request well under the server's default 32 MiB body limit at 1536 dimensions.
_UPSERT_CHUNK: Final = 256
_OPTIMIZE_POLL_SECONDS: Final = 0.5
# What a proxy or a restarting server answers while Qdrant itself is not there.
_OUTAGE_STATUSES: Final = frozenset({502, 503, 504})
_DISTANCES: Final[dict[Distance, models.Distance]] = {
    "cosine": models.Distance.COSINE,
    "dot": models.Distance.DOT,
    "euclid": models.Distance.EUCLID,
}
_DISTANCE_NAMES: Final = {engine: name for name, engine in _DISTANCES.items()}
_INDEXES: Final[dict[str, models.PayloadSchemaType | models.PayloadSchemaParams]] = {
    # A tenant index keeps each user's points together on disk: tenant-filtered search stays fast.
    USER_ID: models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
    KIND: models.PayloadSchemaType.KEYWORD,
    CREATED_AT: models.DatetimeIndexParams(type=models.DatetimeIndexType.DATETIME),
}
_LOCAL_INDEX_WARNING: Final = "Payload indexes have no effect in the local Qdrant"
# The collection-metadata key of the embedder stamp (see `CollectionSpec.embedder`).
EMBEDDER_METADATA_KEY: Final = "pma_embedder"

_log = logging.getLogger(__name__)


class QdrantClientVectorStore:
    """`VectorStore` over `AsyncQdrantClient`: give `url` for a server, or `path` for local mode."""

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = 5.0,
        path: Path | None = None,
    ) -> None:
        if (url is None) == (path is None):
            raise ValueError("give either url (a Qdrant server) or path (local mode), not both or neither")
        self._local = path is not None
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            self._client = AsyncQdrantClient(path=str(path))
        else:
            # No version check: it would call the server from a thread at construction and warn there;
            # reachability is what `ping()` reports, on demand.
            self._client = AsyncQdrantClient(
                url=url, api_key=api_key, timeout=max(1, math.ceil(timeout)), check_compatibility=False
            )

    async def ping(self) -> None:
        """List collections: the cheapest call that proves the server answers and accepts the key."""
        with _translate(None):
            await self._client.get_collections()

    async def ensure_collection(self, spec: CollectionSpec) -> EnsureResult:
        """Create the collection with its payload indexes, or check the existing one's size and embedder."""
        with _translate(spec.name):
            result: EnsureResult = "exists"
            if not await self._client.collection_exists(spec.name):
                result = await self._create(spec)
            info = await self._client.get_collection(spec.name)
            existing = _vector_params(spec.name, info).size
            if existing != spec.size:
                raise VectorSizeMismatchError(spec.name, existing=existing, requested=spec.size)
            stamp = _embedder_stamp(info)
            if spec.embedder is not None and stamp != spec.embedder:
                if stamp is not None:
                    raise EmbedderMismatchError(spec.name, existing=stamp, requested=spec.embedder)
                # Made before embedder identities were kept (or just now): its vectors are this embedder's.
                if await self._stamp(spec.name, spec.embedder) and result == "exists":
                    result = "stamped"
            await self._create_missing_indexes(spec.name, info.payload_schema)
        return result

    async def collection_info(self, name: str) -> CollectionInfo | None:
        """Size, distance and embedder stamp from the collection's config; an exact point count."""
        with _translate(name):
            if not await self._client.collection_exists(check_collection_name(name)):
                return None
            info = await self._client.get_collection(name)
            params, stamp = _vector_params(name, info), _embedder_stamp(info)
            points = (await self._client.count(name, exact=True)).count
        distance = _DISTANCE_NAMES.get(params.distance, str(params.distance.value).lower())
        return CollectionInfo(name=name, size=params.size, distance=distance, points_count=points, embedder=stamp)

    async def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None:
        """Write in chunks and wait for each, so a following search sees the points."""
        check_points(points, size=None, collection=collection)
        with _translate(collection):
            for start in range(0, len(points), _UPSERT_CHUNK):
                chunk = [
                    models.PointStruct(id=canonical_id(p.id), vector=list(p.vector), payload=dict(p.payload))
                    for p in points[start : start + _UPSERT_CHUNK]
                ]
                await self._client.upsert(collection, chunk, wait=True)
            if not points:
                await self._require(collection)

    async def delete(self, collection: str, ids: Sequence[str]) -> None:
        """Remove points by id; ids that are not there are ignored."""
        selector = models.PointIdsList(points=[canonical_id(i) for i in ids])
        with _translate(collection):
            if not ids:  # local mode refuses an empty delete ("Empty update request")
                await self._require(collection)
                return
            await self._client.delete(collection, points_selector=selector, wait=True)

    async def delete_by_filter(self, collection: str, flt: VectorFilter) -> None:
        """Remove the tenant's points that match the filter."""
        selector = models.FilterSelector(filter=_client_filter(flt))
        with _translate(collection):
            await self._client.delete(collection, points_selector=selector, wait=True)

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
        check_limit(limit)
        with _translate(collection):
            response = await self._client.query_points(
                collection,
                query=list(vector),
                query_filter=_client_filter(flt),
                limit=limit,
                score_threshold=score_threshold,
                with_payload=True,
                with_vectors=False,
            )
        return [VectorHit(id=str(p.id), score=p.score, payload=dict(p.payload or {})) for p in response.points]

    async def retrieve(self, collection: str, ids: Sequence[str]) -> list[VectorPoint]:
        """Points with vectors and payloads, in the order of `ids`."""
        wanted = [canonical_id(i) for i in ids]
        with _translate(collection):
            records = await self._client.retrieve(collection, wanted, with_payload=True, with_vectors=True)
        points = (VectorPoint(str(r.id), dense_vector(r.vector), dict(r.payload or {})) for r in records)
        return in_order(wanted, points)

    async def count(self, collection: str, flt: VectorFilter | None = None) -> int:
        """Exact count, of one tenant's matching points when a filter is given."""
        with _translate(collection):
            result = await self._client.count(collection, count_filter=_client_filter(flt) if flt else None, exact=True)
        return result.count

    async def drop_collection(self, name: str) -> None:
        """Delete the collection; a missing one is not an error."""
        with _translate(None):
            await self._client.delete_collection(check_collection_name(name))

    async def optimize(self, collection: str) -> None:
        """Wait until the server has built the index (green); local mode has none to build.

        A grey collection has optimizations waiting for a trigger: an empty config update is it.
        """
        with _translate(collection):
            await self._require(collection)
            while not self._local:
                status = (await self._client.get_collection(collection)).status
                if status == models.CollectionStatus.GREEN:
                    return
                if status == models.CollectionStatus.GREY:
                    await self._client.update_collection(collection, models.OptimizersConfigDiff())
                await asyncio.sleep(_OPTIMIZE_POLL_SECONDS)

    async def compact(self, collection: str) -> None:
        """Nothing to do but check the collection exists: both engines compact on their own.

        A server flushes every `flush_interval_sec` (5 s), which truncates its write-ahead log, and its
        optimizers vacuum replaced points in the background; local mode keeps no log (it rewrites each
        point's row in its SQLite file).
        """
        with _translate(collection):
            await self._require(collection)

    async def close(self) -> None:
        """Close the client's connections (local mode: its files and lock)."""
        await self._client.close()

    async def _create(self, spec: CollectionSpec) -> EnsureResult:
        params = models.VectorParams(size=spec.size, distance=_DISTANCES[spec.distance])
        try:
            await self._client.create_collection(spec.name, vectors_config=params)
        except (UnexpectedResponse, ValueError):
            # Another process may have created it since we looked: then it simply exists.
            if await self._client.collection_exists(spec.name):
                return "exists"
            raise
        return "created"

    async def _stamp(self, collection: str, embedder: str) -> bool:
        """Write the embedder stamp into the collection's metadata; False if the server does not keep it.

        Written after creation, not with it, so that a server that refuses or drops unknown fields
        still gets its collection, only unstamped (and a warning).
        """
        try:
            await self._client.update_collection(collection, metadata={EMBEDDER_METADATA_KEY: embedder})
            kept = _embedder_stamp(await self._client.get_collection(collection)) == embedder
        except UnexpectedResponse as exc:
            if exc.status_code not in (400, 422):
                raise
            kept = False
        if not kept:
            _log.warning(
                "this Qdrant server keeps no collection metadata: the embedder of the vectors is not checked",
                extra={"collection": collection, "embedder": embedder},
            )
        return kept

    async def _create_missing_indexes(self, collection: str, existing: Mapping[str, Any]) -> None:
        for field_name, schema in _INDEXES.items():
            if field_name in existing:
                continue
            with self._local_index_warning_ignored():
                await self._client.create_payload_index(collection, field_name, field_schema=schema, wait=True)

    @contextmanager
    def _local_index_warning_ignored(self) -> Iterator[None]:
        """Silence local mode's "payload indexes have no effect" warning, that one only.

        The index is still asked for, so the same code builds it on a server. `catch_warnings` changes
        process-wide state, which is safe here: local mode never suspends inside the awaited call.
        """
        if not self._local:
            yield
            return
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_LOCAL_INDEX_WARNING, category=UserWarning)
            yield

    async def _require(self, collection: str) -> None:
        if not await self._client.collection_exists(check_collection_name(collection)):
            raise CollectionNotFoundError(collection)


def _client_filter(flt: VectorFilter) -> models.Filter:
    must: list[models.Condition] = [models.FieldCondition(key=USER_ID, match=models.MatchValue(value=flt.user_id))]
    if flt.kinds is not None:
        must.append(models.FieldCondition(key=KIND, match=models.MatchAny(any=list(flt.kinds))))
    low, high = flt.created_bounds()
    if low or high:
        must.append(models.FieldCondition(key=CREATED_AT, range=models.DatetimeRange(gte=low, lt=high)))
    for key, value in (flt.match or {}).items():
        must.append(models.FieldCondition(key=key, match=models.MatchValue(value=value)))
    return models.Filter(must=must)


def _embedder_stamp(info: models.CollectionInfo) -> str | None:
    stamp = (info.config.metadata or {}).get(EMBEDDER_METADATA_KEY)
    return stamp if isinstance(stamp, str) else None


def _vector_params(collection: str, info: models.CollectionInfo) -> models.VectorParams:
    vectors = info.config.params.vectors
    if not isinstance(vectors, models.VectorParams):
        raise VectorStoreError(f"collection {collection!r} has named vectors; this store uses one unnamed vector")
    return vectors


@contextmanager
def _translate(collection: str | None) -> Iterator[None]:
    """Map the client's errors (server HTTP errors, local mode's ValueErrors) onto the port's."""
    try:
        yield
    except UnexpectedResponse as exc:
        if exc.status_code == 404 and collection is not None:
            raise CollectionNotFoundError(collection) from exc
        if exc.status_code in (400, 422):
            raise ValueError(f"Qdrant rejected the request: {exc}") from exc
        if exc.status_code in _OUTAGE_STATUSES:
            raise VectorStoreUnreachableError(f"Qdrant is unavailable, it answered {exc.status_code}: {exc}") from exc
        raise VectorStoreError(f"Qdrant answered {exc.status_code}: {exc}") from exc
    except ValueError as exc:
        # Local mode reports a missing collection as ValueError("Collection x not found").
        if collection is not None and "not found" in str(exc):
            raise CollectionNotFoundError(collection) from exc
        raise
    except (ApiException, httpx.HTTPError, OSError) as exc:
        # The client wraps a refused or timed-out connection in ResponseHandlingException (an ApiException).
        raise VectorStoreUnreachableError(f"Qdrant is unreachable: {exc}") from exc
    except RuntimeError as exc:
        raise VectorStoreError(f"Qdrant client failed: {exc}") from exc
