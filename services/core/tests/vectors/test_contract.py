"""The `VectorStore` contract, run on every adapter (see conftest): same inputs, same answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qdrant_edge as qe
from qdrant_client import AsyncQdrantClient

from pma_core.vectors import (
    CollectionInfo,
    CollectionNotFoundError,
    CollectionSpec,
    VectorFilter,
    VectorPoint,
    VectorSizeMismatchError,
    VectorStore,
    VectorStoreError,
)

StoreOpener = Callable[[], VectorStore]
SERVER_URL = os.environ.get("PMA_TEST_QDRANT_URL")
Vectors = np.ndarray[Any, np.dtype[np.float64]]
DIM = 16
DAY0 = datetime(2025, 3, 1, tzinfo=UTC)


def unit_vectors(count: int, *, seed: int) -> Vectors:
    rng = np.random.default_rng(seed)
    vectors: Vectors = rng.standard_normal((count, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def make_point(vector: Iterable[float], *, user: str, kind: str = "note", day: int = 0, **extra: Any) -> VectorPoint:
    payload = {"user_id": user, "kind": kind, "created_at": (DAY0 + timedelta(days=day)).isoformat(), **extra}
    return VectorPoint(id=str(uuid.uuid4()), vector=[float(x) for x in vector], payload=payload)


async def create(store: VectorStore, name: str, size: int = DIM) -> None:
    assert await store.ensure_collection(CollectionSpec(name=name, size=size)) == "created"


def ids(items: Iterable[Any]) -> list[str]:
    return [item.id for item in items]


# --- collections -------------------------------------------------------------------------------


async def test_ensure_collection_creates_once_then_reports_exists(
    store: VectorStore, open_store: StoreOpener, collection: str
) -> None:
    spec = CollectionSpec(name=collection, size=DIM)
    assert await store.ensure_collection(spec) == "created"
    assert await store.ensure_collection(spec) == "exists"
    assert await store.collection_info(collection) == CollectionInfo(collection, DIM, "cosine", 0)
    await store.close()
    assert await open_store().ensure_collection(spec) == "exists"


async def test_payload_indexes_are_created(adapter: str, store: VectorStore, collection: str, tmp_path: Path) -> None:
    if adapter == "qdrant-local":
        pytest.skip("qdrant-client local mode keeps no payload indexes (its payload_schema is always {})")
    await create(store, collection)
    await store.close()  # the engine admits one opener: look at the files once the store let go
    if adapter == "edge":
        shard = qe.EdgeShard.load(str(tmp_path / "vectors" / collection))
        try:
            # The engine's enums are not Python enums (no `.name`), despite its stubs: use their repr.
            found = {
                f: (repr(i.data_type).split(".")[1].lower(), _is_tenant(i.params))
                for f, i in shard.info().payload_schema.items()
            }
        finally:
            shard.close()
    else:
        client = AsyncQdrantClient(url=SERVER_URL)
        try:
            schema = (await client.get_collection(collection)).payload_schema
        finally:
            await client.close()
        found = {f: (str(i.data_type.value), _is_tenant(i.params)) for f, i in schema.items()}
    assert found == {
        "user_id": ("keyword", True),
        "kind": ("keyword", False),
        "created_at": ("datetime", False),
    }


def _is_tenant(params: object) -> bool:
    return bool(getattr(params, "is_tenant", False))


async def test_size_mismatch_raises_and_names_the_fix(
    store: VectorStore, open_store: StoreOpener, collection: str
) -> None:
    await create(store, collection)
    with pytest.raises(VectorSizeMismatchError) as caught:
        await store.ensure_collection(CollectionSpec(name=collection, size=DIM * 2))
    message = str(caught.value)
    assert collection in message
    assert str(DIM) in message
    assert str(DIM * 2) in message
    assert "run `pma reindex` to rebuild it from Postgres" in message
    assert (caught.value.existing, caught.value.requested) == (DIM, DIM * 2)
    await store.close()

    reopened = open_store()
    with pytest.raises(VectorSizeMismatchError, match="pma reindex"):
        await reopened.ensure_collection(CollectionSpec(name=collection, size=DIM * 2))
    info = await reopened.collection_info(collection)
    assert info is not None
    assert info.size == DIM


async def test_drop_collection_removes_it_and_is_idempotent(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    await store.upsert(collection, [make_point(unit_vectors(1, seed=1)[0], user="a")])
    await store.drop_collection(collection)
    assert await store.collection_info(collection) is None
    await store.drop_collection(collection)
    await create(store, collection)  # created afresh, empty
    assert await store.count(collection) == 0


async def test_a_missing_collection_is_reported(store: VectorStore) -> None:
    assert await store.collection_info("nowhere") is None
    point = make_point(unit_vectors(1, seed=2)[0], user="a")
    with pytest.raises(CollectionNotFoundError, match="nowhere"):
        await store.upsert("nowhere", [point])
    with pytest.raises(CollectionNotFoundError):
        await store.search("nowhere", point.vector, flt=VectorFilter(user_id="a"), limit=3)
    with pytest.raises(CollectionNotFoundError):
        await store.count("nowhere")
    with pytest.raises(CollectionNotFoundError):
        await store.compact("nowhere")


async def test_a_closed_store_refuses_calls(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    await store.ping()
    await store.close()
    await store.close()  # twice is harmless
    with pytest.raises(VectorStoreError):
        await store.ping()
    with pytest.raises(VectorStoreError):
        await store.count(collection)


# --- writing and reading -----------------------------------------------------------------------


async def test_search_ranks_the_nearest_first(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    vectors = unit_vectors(40, seed=3)
    points = [make_point(v, user="a") for v in vectors]
    await store.upsert(collection, points)

    query = vectors[7] + 0.05 * unit_vectors(1, seed=4)[0]
    hits = await store.search(collection, query.tolist(), flt=VectorFilter(user_id="a"), limit=5)

    cosine = vectors @ (query / np.linalg.norm(query))
    expected = [points[i].id for i in np.argsort(-cosine)[:5]]
    assert ids(hits) == expected
    assert hits[0].id == points[7].id
    assert [h.score for h in hits] == pytest.approx(sorted(cosine, reverse=True)[:5], abs=1e-4)
    assert hits[0].payload == points[7].payload


async def test_upserting_an_id_again_replaces_the_point(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    first, second = unit_vectors(2, seed=5)
    original = make_point(first, user="a", title="v1")
    await store.upsert(collection, [original])
    replacement = VectorPoint(original.id, second.tolist(), {**original.payload, "title": "v2"})
    await store.upsert(collection, [replacement])

    assert await store.count(collection) == 1
    (stored,) = await store.retrieve(collection, [original.id])
    assert stored.payload["title"] == "v2"
    assert stored.vector == pytest.approx(second.tolist(), abs=1e-6)
    hits = await store.search(collection, first.tolist(), flt=VectorFilter(user_id="a"), limit=5)
    assert ids(hits) == [original.id]


async def test_retrieve_keeps_the_asked_order_and_skips_missing_ids(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    points = [make_point(v, user="a", n=i) for i, v in enumerate(unit_vectors(3, seed=6))]
    await store.upsert(collection, points)

    found = await store.retrieve(collection, [points[2].id, str(uuid.uuid4()), points[0].id])
    assert ids(found) == [points[2].id, points[0].id]
    assert [p.payload for p in found] == [points[2].payload, points[0].payload]
    assert found[0].vector == pytest.approx(points[2].vector, abs=1e-6)
    assert await store.retrieve(collection, []) == []
    # Ids come back in the canonical lowercase UUID form, however they were asked for.
    assert ids(await store.retrieve(collection, [points[1].id.upper()])) == [points[1].id]


async def test_delete_by_id(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    points = [make_point(v, user="a") for v in unit_vectors(3, seed=7)]
    await store.upsert(collection, points)
    await store.delete(collection, [points[1].id, str(uuid.uuid4())])
    await store.delete(collection, [])

    assert await store.count(collection) == 2
    assert await store.retrieve(collection, [points[1].id]) == []
    hits = await store.search(collection, points[1].vector, flt=VectorFilter(user_id="a"), limit=5)
    assert points[1].id not in ids(hits)
    assert len(hits) == 2


async def test_points_without_a_tenant_or_with_bad_fields_are_rejected(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    vector = unit_vectors(1, seed=8)[0].tolist()
    good = make_point(vector, user="a")
    bad_points = [
        VectorPoint(str(uuid.uuid4()), vector, {"kind": "note"}),
        VectorPoint(str(uuid.uuid4()), vector, {"user_id": ""}),
        VectorPoint("not-a-uuid", vector, {"user_id": "a"}),
        VectorPoint(str(uuid.uuid4()), vector, {"user_id": "a", "created_at": "yesterday"}),
        VectorPoint(str(uuid.uuid4()), vector, {"user_id": "a", "created_at": "20250301T000000Z"}),
    ]
    for bad in bad_points:
        with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the field
            await store.upsert(collection, [good, bad])
    assert await store.count(collection) == 0  # a batch with a bad point writes nothing

    with pytest.raises(ValueError, match="user_id"):
        await store.upsert(collection, [VectorPoint(str(uuid.uuid4()), vector, {"kind": "note"})])


async def test_vectors_of_the_wrong_size_are_rejected(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    with pytest.raises(ValueError):  # noqa: PT011 - each engine words it its own way
        await store.upsert(collection, [make_point([1.0] * (DIM - 1), user="a")])
    with pytest.raises(ValueError):  # noqa: PT011
        await store.search(collection, [1.0] * (DIM + 1), flt=VectorFilter(user_id="a"), limit=1)


async def test_compact_after_a_rewrite_keeps_every_point_and_answer(
    store: VectorStore, open_store: StoreOpener, collection: str
) -> None:
    # What a reindex does: every point written again under its id, then the collection compacted.
    await create(store, collection)
    vectors = unit_vectors(30, seed=17)
    points = [make_point(v, user="a" if i % 2 else "b", n=i) for i, v in enumerate(vectors)]
    await store.upsert(collection, points)
    rewritten = [VectorPoint(p.id, p.vector, {**p.payload, "n": p.payload["n"] + 100}) for p in points]
    await store.upsert(collection, rewritten)
    flt = VectorFilter(user_id="a")
    before = await store.search(collection, vectors[3].tolist(), flt=flt, limit=5)

    await store.compact(collection)
    await store.compact(collection)  # nothing left to do: harmless

    assert await store.count(collection) == 30
    assert ids(await store.search(collection, vectors[3].tolist(), flt=flt, limit=5)) == ids(before)
    assert [p.payload for p in await store.retrieve(collection, ids(points))] == [p.payload for p in rewritten]
    await store.upsert(collection, [make_point(vectors[0], user="a")])  # the store keeps working
    await store.close()
    assert await open_store().count(collection) == 31


async def test_data_survives_closing_and_reopening(
    store: VectorStore, open_store: StoreOpener, collection: str
) -> None:
    await create(store, collection)
    points = [make_point(v, user="a", title=f"t{i}") for i, v in enumerate(unit_vectors(12, seed=9))]
    await store.upsert(collection, points)
    await store.close()

    reopened = open_store()
    assert await reopened.collection_info(collection) == CollectionInfo(collection, DIM, "cosine", 12)
    hits = await reopened.search(collection, points[4].vector, flt=VectorFilter(user_id="a"), limit=1)
    assert ids(hits) == [points[4].id]
    (stored,) = await reopened.retrieve(collection, [points[4].id])
    assert stored.payload == points[4].payload


# --- filters -----------------------------------------------------------------------------------


async def test_tenants_never_see_each_other(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    vectors = unit_vectors(5, seed=10)
    mine = [make_point(v, user="alice") for v in vectors]
    theirs = [make_point(v, user="bob") for v in vectors]  # the very same vectors
    await store.upsert(collection, [*mine, *theirs])

    for query in vectors:
        hits = await store.search(collection, query.tolist(), flt=VectorFilter(user_id="alice"), limit=10)
        assert sorted(ids(hits)) == sorted(ids(mine))
        assert {h.payload["user_id"] for h in hits} == {"alice"}
    assert await store.search(collection, vectors[0].tolist(), flt=VectorFilter(user_id="eve"), limit=10) == []

    await store.delete_by_filter(collection, VectorFilter(user_id="alice"))
    assert await store.count(collection, VectorFilter(user_id="alice")) == 0
    assert await store.count(collection, VectorFilter(user_id="bob")) == 5
    hits = await store.search(collection, vectors[0].tolist(), flt=VectorFilter(user_id="bob"), limit=1)
    assert ids(hits) == [theirs[0].id]


async def test_kind_filter(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    kinds = ["task", "note", "event", "task"]
    points = [make_point(v, user="a", kind=k) for v, k in zip(unit_vectors(4, seed=11), kinds, strict=True)]
    await store.upsert(collection, points)

    query = points[1].vector
    tasks = await store.search(collection, query, flt=VectorFilter(user_id="a", kinds=["task"]), limit=10)
    assert sorted(ids(tasks)) == sorted([points[0].id, points[3].id])
    both = await store.search(collection, query, flt=VectorFilter(user_id="a", kinds=["task", "note"]), limit=10)
    assert len(both) == 3
    assert both[0].id == points[1].id
    assert await store.count(collection, VectorFilter(user_id="a", kinds=["event"])) == 1


async def test_created_at_window_is_half_open(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    points = [make_point(v, user="a", day=d) for d, v in enumerate(unit_vectors(5, seed=12))]
    points.append(make_point(unit_vectors(1, seed=13)[0], user="a", day=2, created_at="2025-03-03T00:00:00Z"))
    await store.upsert(collection, points)
    query = points[0].vector

    window = VectorFilter(user_id="a", created_from=DAY0 + timedelta(days=1), created_to=DAY0 + timedelta(days=3))
    hits = await store.search(collection, query, flt=window, limit=10)
    assert sorted(ids(hits)) == sorted([points[1].id, points[2].id, points[5].id])
    assert await store.count(collection, window) == 3

    # The same instants written in another zone, and naive (read as UTC), select the same points.
    plus2 = timezone(timedelta(hours=2))
    shifted = VectorFilter(
        user_id="a", created_from=datetime(2025, 3, 2, 2, tzinfo=plus2), created_to=datetime(2025, 3, 4)
    )
    assert await store.count(collection, shifted) == 3
    assert await store.count(collection, VectorFilter(user_id="a", created_from=DAY0 + timedelta(days=4))) == 1
    assert await store.count(collection, VectorFilter(user_id="a", created_to=DAY0 + timedelta(days=1))) == 1


async def test_match_filter_on_strings_numbers_and_booleans(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    vectors = unit_vectors(4, seed=14)
    pinned = make_point(vectors[0], user="a", source="gmail", pinned=True)
    rank_one = make_point(vectors[1], user="a", source="coda", priority=1)
    unpinned = make_point(vectors[2], user="a", source="gmail", pinned=False, priority=2)
    elsewhere = make_point(vectors[3], user="b", source="gmail", pinned=True)
    await store.upsert(collection, [pinned, rank_one, unpinned, elsewhere])

    async def matching(**match: str | int | bool) -> list[str]:
        hits = await store.search(collection, vectors[0].tolist(), flt=VectorFilter(user_id="a", match=match), limit=10)
        return sorted(ids(hits))

    assert await matching(source="gmail") == sorted([pinned.id, unpinned.id])
    assert await matching(priority=2) == [unpinned.id]
    assert await matching(pinned=True) == [pinned.id]  # never the point whose priority is 1
    assert await matching(pinned=False) == [unpinned.id]
    assert await matching(priority=1) == [rank_one.id]
    assert await matching(source="gmail", pinned=True) == [pinned.id]


async def test_count_with_and_without_a_filter(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    vectors = unit_vectors(5, seed=15)
    points = [make_point(vectors[i], user="a", kind="task" if i < 2 else "note") for i in range(3)]
    points += [make_point(vectors[i], user="b") for i in (3, 4)]
    await store.upsert(collection, points)

    assert await store.count(collection) == 5
    assert await store.count(collection, VectorFilter(user_id="a")) == 3
    assert await store.count(collection, VectorFilter(user_id="a", kinds=["task"])) == 2
    assert await store.count(collection, VectorFilter(user_id="nobody")) == 0


async def test_score_threshold_drops_farther_points(store: VectorStore, collection: str) -> None:
    await create(store, collection)
    vectors = unit_vectors(30, seed=16)
    points = [make_point(v, user="a") for v in vectors]
    await store.upsert(collection, points)
    query = vectors[0]
    cosine = sorted((vectors @ query).tolist(), reverse=True)
    threshold = (cosine[2] + cosine[3]) / 2  # between the third and the fourth nearest

    flt = VectorFilter(user_id="a")
    hits = await store.search(collection, query.tolist(), flt=flt, limit=10, score_threshold=threshold)
    assert len(hits) == 3
    assert hits[0].id == points[0].id
    assert all(h.score >= threshold for h in hits)
    assert len(await store.search(collection, query.tolist(), flt=flt, limit=10)) == 10
