"""The embedder stamp, on every adapter alike: a collection remembers whose vectors it holds.

`CollectionSpec.embedder` is the embedder's identity (`Embedder.identity`, e.g. `hashing-v1:384`). A new
collection is stamped with it; one made before stamps were kept is stamped on its next `ensure_collection`
("stamped"); one stamped with another identity is refused, naming both and `pma reindex --recreate`.
The stamp survives a restart (a new store object on the same data) and goes with a dropped collection.
"""

from __future__ import annotations

import pytest

from pma_core.vectors import (
    COLLECTION_NAMES,
    CollectionSpec,
    EmbedderMismatchError,
    VectorSizeMismatchError,
    VectorStore,
    setup_collections,
)

from .conftest import StoreOpener

DIM = 8
OLD = "hashing-v1:8"
NEW = "openai:fake/embedding-model:8"


async def test_a_new_collection_carries_the_embedder_identity_across_a_restart(
    store: VectorStore, open_store: StoreOpener, collection: str
) -> None:
    spec = CollectionSpec(collection, DIM, embedder=OLD)
    assert await store.ensure_collection(spec) == "created"
    assert await store.ensure_collection(spec) == "exists"
    info = await store.collection_info(collection)
    assert info is not None
    assert (info.size, info.embedder) == (DIM, OLD)
    await store.close()

    reopened = open_store()
    assert await reopened.ensure_collection(spec) == "exists"
    again = await reopened.collection_info(collection)
    assert again is not None
    assert again.embedder == OLD


async def test_another_identity_is_refused_naming_both_and_the_reindex_command(
    store: VectorStore, open_store: StoreOpener, collection: str
) -> None:
    await store.ensure_collection(CollectionSpec(collection, DIM, embedder=OLD))

    with pytest.raises(EmbedderMismatchError) as caught:
        await store.ensure_collection(CollectionSpec(collection, DIM, embedder=NEW))
    error = caught.value
    assert (error.collection, error.existing, error.requested) == (collection, OLD, NEW)
    message = str(error)
    assert f"'{OLD}'" in message
    assert f"'{NEW}'" in message
    assert "`pma reindex --recreate`" in message
    await store.close()

    # A restarted process (nothing cached) is refused the same way, and the stamp is not overwritten.
    reopened = open_store()
    with pytest.raises(EmbedderMismatchError, match="pma reindex --recreate"):
        await reopened.ensure_collection(CollectionSpec(collection, DIM, embedder=NEW))
    info = await reopened.collection_info(collection)
    assert info is not None
    assert info.embedder == OLD


async def test_a_size_change_is_still_reported_as_one(store: VectorStore, collection: str) -> None:
    await store.ensure_collection(CollectionSpec(collection, DIM, embedder=OLD))
    with pytest.raises(VectorSizeMismatchError):
        await store.ensure_collection(CollectionSpec(collection, DIM * 2, embedder=NEW))


async def test_a_collection_made_without_a_stamp_is_stamped_once_then_checked(
    store: VectorStore, open_store: StoreOpener, collection: str
) -> None:
    # As every collection made before identities were kept (and as `pma collections` makes them).
    assert await store.ensure_collection(CollectionSpec(collection, DIM)) == "created"
    before = await store.collection_info(collection)
    assert before is not None
    assert before.embedder is None
    await store.close()

    reopened = open_store()
    assert await reopened.ensure_collection(CollectionSpec(collection, DIM, embedder=OLD)) == "stamped"
    assert await reopened.ensure_collection(CollectionSpec(collection, DIM, embedder=OLD)) == "exists"
    await reopened.close()

    third = open_store()
    info = await third.collection_info(collection)
    assert info is not None
    assert info.embedder == OLD
    with pytest.raises(EmbedderMismatchError):
        await third.ensure_collection(CollectionSpec(collection, DIM, embedder=NEW))


async def test_a_spec_without_an_identity_neither_stamps_nor_checks(store: VectorStore, collection: str) -> None:
    await store.ensure_collection(CollectionSpec(collection, DIM, embedder=OLD))
    assert await store.ensure_collection(CollectionSpec(collection, DIM)) == "exists"
    info = await store.collection_info(collection)
    assert info is not None
    assert info.embedder == OLD


async def test_dropping_and_recreating_stamps_the_new_identity(
    store: VectorStore, open_store: StoreOpener, collection: str
) -> None:
    # What `pma reindex --recreate` does to every collection.
    await store.ensure_collection(CollectionSpec(collection, DIM, embedder=OLD))
    await store.drop_collection(collection)
    assert await store.ensure_collection(CollectionSpec(collection, DIM, embedder=NEW)) == "created"
    await store.close()

    reopened = open_store()
    assert await reopened.ensure_collection(CollectionSpec(collection, DIM, embedder=NEW)) == "exists"
    info = await reopened.collection_info(collection)
    assert info is not None
    assert info.embedder == NEW


async def test_setup_collections_stamps_every_collection(adapter: str, store: VectorStore) -> None:
    if adapter == "qdrant-server":
        pytest.skip("the system's collection names would clash on a shared server")
    assert await setup_collections(store, size=DIM) == dict.fromkeys(COLLECTION_NAMES, "created")
    assert await setup_collections(store, size=DIM, embedder=OLD) == dict.fromkeys(COLLECTION_NAMES, "stamped")
    assert await setup_collections(store, size=DIM, embedder=OLD) == dict.fromkeys(COLLECTION_NAMES, "exists")
    with pytest.raises(EmbedderMismatchError, match=f"'{COLLECTION_NAMES[0]}'"):
        await setup_collections(store, size=DIM, embedder=NEW)


def test_an_empty_identity_is_rejected() -> None:
    with pytest.raises(ValueError, match="embedder identity"):
        CollectionSpec("events", DIM, embedder="")
