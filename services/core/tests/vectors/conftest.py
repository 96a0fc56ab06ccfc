"""Every vector-store adapter on a fresh store: the contract suite runs once per adapter.

- `edge`: the embedded engine (`qdrant_edge`) in a temporary directory.
- `qdrant-local`: `AsyncQdrantClient` in local mode in a temporary directory.
- `qdrant-server`: the same client against a real Qdrant server, as production runs it. It needs one:
  `PMA_TEST_QDRANT_URL=http://127.0.0.1:6333` (a loopback server) runs it, and without the variable it
  is reported as skipped, with that reason. Each test then uses collection names of its own and drops
  them afterwards. Local mode is the client's pure-Python stand-in (no payload indexes, no optimizer),
  so only the server variant checks what production gets.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pma_core.vectors import EdgeVectorStore, VectorStore
from pma_core.vectors.qdrant_server import QdrantClientVectorStore

SERVER_URL = os.environ.get("PMA_TEST_QDRANT_URL")
NO_SERVER = (
    "qdrant-client against a real Qdrant server (what production uses) not run: set PMA_TEST_QDRANT_URL "
    "(e.g. http://127.0.0.1:6333); qdrant-local, which ran, is the client's pure-Python stand-in "
    "(no payload indexes, no optimizer)"
)
ADAPTERS = [
    "edge",
    "qdrant-local",
    pytest.param("qdrant-server", marks=pytest.mark.skipif(not SERVER_URL, reason=NO_SERVER)),
]

StoreOpener = Callable[[], VectorStore]


def open_adapter(adapter: str, directory: Path) -> VectorStore:
    """A new store object of this adapter on `directory` (or on the test server)."""
    if adapter == "edge":
        return EdgeVectorStore(directory)
    if adapter == "qdrant-local":
        return QdrantClientVectorStore(path=directory)
    assert SERVER_URL is not None
    return QdrantClientVectorStore(url=SERVER_URL, timeout=10)


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_store(adapter: str, tmp_path: Path) -> AsyncIterator[StoreOpener]:
    """Opens store objects on the same data, as a restarted process would; closes them all at the end."""
    opened: list[VectorStore] = []

    def opener() -> VectorStore:
        store = open_adapter(adapter, tmp_path / "vectors")
        opened.append(store)
        return store

    yield opener
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: StoreOpener) -> VectorStore:
    return open_store()


@pytest.fixture
async def collection(adapter: str, open_store: StoreOpener) -> AsyncIterator[str]:
    """A collection name this test alone uses (on a shared server, unique; dropped afterwards)."""
    name = f"t_{uuid.uuid4().hex[:12]}" if adapter == "qdrant-server" else "memories"
    yield name
    if adapter == "qdrant-server":
        cleaner = open_store()
        await cleaner.drop_collection(name)
