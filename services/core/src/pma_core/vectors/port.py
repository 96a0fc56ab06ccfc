"""What the services need from a vector store, whichever engine is behind it.

The system of record is Postgres: every vector here can be rebuilt from it (`pma reindex`), so the
store holds vectors plus the few payload fields that filters need. The product is multi-tenant, so
every search and every filtered delete names a `user_id`: `VectorFilter` cannot be built without one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

Distance = Literal["cosine", "dot", "euclid"]
# "stamped": the collection existed without an embedder identity (made before identities were kept) and
# now carries the one asked for.
EnsureResult = Literal["created", "exists", "stamped"]

# The payload fields the port indexes and filters on.
USER_ID = "user_id"
KIND = "kind"
CREATED_AT = "created_at"

# Collection names become directory names in the embedded engine: keep them path-safe.
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The ISO-8601 shapes Qdrant's datetime index parses; Python also accepts others (`20240101T0000Z`)
# that Qdrant would silently leave out of every `created_at` range.
_QDRANT_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")


class VectorStoreError(Exception):
    """The vector engine failed or is unusable (closed, unreachable, corrupt files)."""


class VectorStoreUnreachableError(VectorStoreError):
    """A Qdrant server did not answer (refused, timed out, 502/503/504): an outage that may pass by itself,
    unlike every other `VectorStoreError` (a mismatch, a bad file, a closed store)."""


class VectorSizeMismatchError(VectorStoreError):
    """A collection holds vectors of another size than the embedder produces: never fixed silently."""

    def __init__(self, collection: str, *, existing: int, requested: int) -> None:
        super().__init__(
            f"Collection {collection!r} holds vectors of size {existing}, but the embedder produces "
            f"size {requested}: run `pma reindex` to rebuild it from Postgres."
        )
        self.collection = collection
        self.existing = existing
        self.requested = requested


class EmbedderMismatchError(VectorStoreError):
    """A collection holds vectors of another embedder (model, algorithm version) than the configured one.

    Same size or not, such vectors are not comparable with the new ones: never fixed silently.
    """

    def __init__(self, collection: str, *, existing: str, requested: str) -> None:
        super().__init__(
            f"Collection {collection!r} holds vectors of the embedder {existing!r}, but the configured "
            f"embedder is {requested!r}: stop the memory-gateway and run `pma reindex --recreate` to "
            "rebuild every collection from Postgres."
        )
        self.collection = collection
        self.existing = existing
        self.requested = requested


class CollectionNotFoundError(VectorStoreError):
    """The collection does not exist: `ensure_collection` (or `pma collections`) was not run."""

    def __init__(self, collection: str) -> None:
        super().__init__(f"Collection {collection!r} does not exist; create it with `ensure_collection`.")
        self.collection = collection


@dataclass(frozen=True, slots=True)
class VectorPoint:
    """One stored vector. `id` is a UUID string; `payload` must carry `user_id`."""

    id: str
    vector: list[float]
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VectorHit:
    """A search result; `score` follows the collection's distance (higher is nearer, but for euclid)."""

    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """A collection as asked for; `embedder` is the identity of the embedder whose vectors it holds
    (`Embedder.identity`), or None to neither stamp nor check one."""

    name: str
    size: int
    distance: Distance = "cosine"
    embedder: str | None = None

    def __post_init__(self) -> None:
        check_collection_name(self.name)
        if self.size < 1:
            raise ValueError(f"vector size must be positive, got {self.size}")
        if self.embedder is not None and not self.embedder:
            raise ValueError("embedder identity must be a non-empty string or None")


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """`embedder` is the identity stamped on the collection; None for one made without it."""

    name: str
    size: int
    distance: str
    points_count: int
    embedder: str | None = None


@dataclass(frozen=True, slots=True)
class VectorFilter:
    """The conditions of a search, count or delete, all ANDed, always within one tenant.

    `kinds=None` means any kind. The creation window is half-open, `[created_from, created_to)`;
    naive datetimes are taken as UTC (as Qdrant does). `match` adds exact payload matches.
    """

    user_id: str
    kinds: Sequence[str] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    match: Mapping[str, str | int | bool] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.user_id, str) or not self.user_id:
            raise ValueError("VectorFilter needs a non-empty user_id: tenant-less searches are not allowed")
        if isinstance(self.kinds, str):  # a str is a Sequence[str] too: "task" would become t, a, s, k
            raise ValueError(f"kinds must be a list of kinds, not the string {self.kinds!r}")
        if self.kinds is not None and len(self.kinds) == 0:
            raise ValueError("kinds=[] would match nothing; pass None for any kind")
        if self.created_from and self.created_to and utc(self.created_from) > utc(self.created_to):
            raise ValueError("created_from is after created_to")

    def created_bounds(self) -> tuple[str | None, str | None]:
        """The creation window as ISO-8601 UTC strings, the form both engines compare."""
        low = utc(self.created_from).isoformat() if self.created_from else None
        high = utc(self.created_to).isoformat() if self.created_to else None
        return low, high


class VectorStore(Protocol):
    """A vector engine holding named collections of `VectorPoint`s, used from one event loop."""

    async def ping(self) -> None:
        """Raise `VectorStoreError` when the store is unusable; /readyz calls it."""
        ...

    async def ensure_collection(self, spec: CollectionSpec) -> EnsureResult:
        """Create the collection and its payload indexes (idempotent).

        Raises `VectorSizeMismatchError` when it exists with another vector size. With `spec.embedder`
        set, a new collection is stamped with it, an existing one without a stamp is stamped now
        ("stamped"), and one stamped with another identity raises `EmbedderMismatchError`.
        """
        ...

    async def collection_info(self, name: str) -> CollectionInfo | None:
        """Size, distance, point count and embedder stamp; None when the collection does not exist."""
        ...

    async def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None:
        """Insert or replace points by id; `ValueError` for a point without `user_id` or a bad id."""
        ...

    async def delete(self, collection: str, ids: Sequence[str]) -> None:
        """Delete points by id; unknown ids are ignored."""
        ...

    async def delete_by_filter(self, collection: str, flt: VectorFilter) -> None:
        """Delete every point of one tenant matching the filter."""
        ...

    async def search(
        self,
        collection: str,
        vector: Sequence[float],
        *,
        flt: VectorFilter,
        limit: int,
        score_threshold: float | None = None,
    ) -> list[VectorHit]:
        """The `limit` nearest points within the filter, nearest first."""
        ...

    async def retrieve(self, collection: str, ids: Sequence[str]) -> list[VectorPoint]:
        """The points with these ids, in the order asked; missing ids are left out.

        In a cosine collection the engines store, and so return, vectors scaled to unit length.
        """
        ...

    async def count(self, collection: str, flt: VectorFilter | None = None) -> int:
        """Exact number of points, of one tenant when a filter is given, else of the collection."""
        ...

    async def drop_collection(self, name: str) -> None:
        """Delete the collection and its data; a missing collection is not an error."""
        ...

    async def optimize(self, collection: str) -> None:
        """Build the vector index; tens of seconds at scale, so callers keep it off the request path."""
        ...

    async def compact(self, collection: str) -> None:
        """Give back the disk and memory that rewriting many points (a reindex) left behind.

        The engine writes out what is pending, drops the write-ahead log it no longer needs and reclaims
        replaced points; the points, and every answer, stay the same. Calls on the collection may wait
        meanwhile (an optimize, if the engine needs one), so callers keep it off the request path.
        """
        ...

    async def close(self) -> None:
        """Flush and release the engine; the store is unusable afterwards."""
        ...


def utc(moment: datetime) -> datetime:
    """The moment in UTC, reading a naive datetime as UTC as Qdrant does."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_collection_name(name: str) -> str:
    """Reject names that are not path- and URL-safe before they reach a directory or a URL."""
    if not _COLLECTION_NAME.fullmatch(name):
        raise ValueError(f"invalid collection name {name!r}: use 1-64 letters, digits, '_' or '-'")
    return name


def canonical_id(point_id: str) -> str:
    """The id in the canonical lowercase UUID form both engines return."""
    try:
        return str(uuid.UUID(point_id))
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"point id must be a UUID string, got {point_id!r}") from None


def check_point(point: VectorPoint) -> None:
    """Reject what an engine would store wrongly: points outside any tenant, unparseable dates."""
    canonical_id(point.id)
    user_id = point.payload.get(USER_ID)
    if not isinstance(user_id, str) or not user_id:
        raise ValueError(f"point {point.id} has no user_id in its payload; every point belongs to a tenant")
    created_at = point.payload.get(CREATED_AT)
    if created_at is not None:
        _check_created_at(point.id, created_at)


def _check_created_at(point_id: str, value: object) -> None:
    if not isinstance(value, str) or not _QDRANT_DATETIME.fullmatch(value):
        raise ValueError(f"point {point_id}: created_at must be an ISO-8601 string, got {value!r}")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"point {point_id}: created_at {value!r} is not a valid date") from None


def check_vector(vector: Sequence[float], *, size: int, collection: str) -> None:
    """Fail fast with a clear message instead of the engine's, for a vector of the wrong size."""
    if len(vector) != size:
        raise ValueError(f"collection {collection!r} takes vectors of size {size}, got {len(vector)}")


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")


def dense_vector(vector: object) -> list[float]:
    """The engine's vector as floats; anything but one dense vector is not ours."""
    if not isinstance(vector, list):
        raise VectorStoreError(f"expected a dense vector, got {type(vector).__name__}")
    return [float(x) for x in vector]


def check_points(points: Sequence[VectorPoint], *, size: int | None, collection: str) -> None:
    """Check every point before writing any: a batch is stored whole or not at all by this check."""
    for point in points:
        check_point(point)
        if size is not None:
            check_vector(point.vector, size=size, collection=collection)


def in_order(ids: Sequence[str], points: Iterable[VectorPoint]) -> list[VectorPoint]:
    """The points in the order of `ids`, leaving out ids that were not found."""
    found = {point.id: point for point in points}
    return [found[i] for i in ids if i in found]
