"""The memory-gateway app: `create_app(settings)` builds it; `app_from_env` is uvicorn's factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from memory_gateway import __version__
from memory_gateway.adapters.collection_setup import CollectionSetup
from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.mem0 import Mem0Mirror
from memory_gateway.adapters.tables import INDEXED_TABLES
from memory_gateway.api import ADMIN_ROUTES, routers
from memory_gateway.deps import State
from memory_gateway.settings import Settings
from pma_core.app import LifespanState, ReadinessCheck, app_from_environment, build_app
from pma_core.embedders import open_embedder
from pma_core.resources import Background, core_readiness, open_core_resources, run_until_exit
from pma_core.settings import QdrantSettings
from pma_core.vectors import VectorStore, open_vector_store

DESCRIPTION = (
    "Unified memory API (`memory.*`): long-term memory in Postgres (the source of truth) indexed in "
    "Qdrant, short-term memory in Valkey. The only service that opens Qdrant."
)


async def _index_forever(setup: CollectionSetup, indexer: Indexer, *, interval_seconds: float) -> None:
    """The background loop: the collections first (when Qdrant did not answer at start), then repairs."""
    if await setup.until_done(interval_seconds=interval_seconds):
        await indexer.repair_forever(INDEXED_TABLES, interval_seconds=interval_seconds)


VectorStoreOpener = Callable[[QdrantSettings], VectorStore]


def create_app(settings: Settings, *, open_vectors: VectorStoreOpener = open_vector_store) -> FastAPI:
    """The app; `open_vectors` picks the vector store from the Qdrant settings (tests swap the adapter)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState[State]]:
        # Every lock here is transaction-scoped and every setting local (tests/test_session_state.py):
        # connections go back to the pool without a reset round trip.
        async with open_core_resources(settings, session_state=False) as core, AsyncExitStack() as stack:
            embedder = await open_embedder(settings.embedding, settings.llm)
            stack.push_async_callback(embedder.close)
            vectors = open_vectors(settings.qdrant)
            stack.push_async_callback(vectors.close)
            collections = CollectionSetup(vectors, embedder)
            await collections.at_start()
            indexer = Indexer(pool=core.pool, vectors=vectors, embedder=embedder)
            run_until_exit(
                stack,
                _index_forever(collections, indexer, interval_seconds=settings.memory.index_repair_interval_seconds),
            )
            # Closed before everything above (the stack unwinds in reverse): mem0 writes and a reindex
            # still running get a moment to finish, then are cancelled, before their clients close.
            background = Background()
            mem0 = Mem0Mirror(settings.mem0, background=background) if settings.mem0.enabled else None
            if mem0 is not None:
                stack.push_async_callback(mem0.aclose)
            stack.push_async_callback(background.aclose)
            state = State(
                settings=settings,
                pool=core.pool,
                cache=core.cache,
                vectors=vectors,
                embedder=embedder,
                indexer=indexer,
                background=background,
                mem0=mem0,
            )
            readiness = [*core_readiness(core), ReadinessCheck("qdrant", collections.probe)]
            yield LifespanState(resources=state, readiness=readiness)

    return build_app(
        settings=settings,
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        routers=routers,
        admin_routes=ADMIN_ROUTES,
    )


def app_from_env() -> FastAPI:
    return app_from_environment(Settings, create_app)
