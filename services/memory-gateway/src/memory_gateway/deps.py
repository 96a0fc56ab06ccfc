"""Request-scoped access to what the lifespan opened, and the domain services built from it.

The lifespan builds one `State`; its methods build each request's services and repositories from it, so
routers only declare what they need (`MemoriesDep`, `RecallDep`, ...) and never construct anything.
The dependency functions are `async def`, though none awaits: FastAPI runs a plain `def` dependency in a
worker thread of a pool of 40, a hop and a queue per request for a constructor call
(tests/test_route_dependencies.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from memory_gateway.adapters.daily_threads import DailyThreadRepository, DailyThreadVectors
from memory_gateway.adapters.documents import PostgresDocumentStore, VectorChunkIndex
from memory_gateway.adapters.events import EventRepository, EventVectors
from memory_gateway.adapters.graph import GraphRepository
from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.mem0 import Mem0Mirror
from memory_gateway.adapters.memories import MemoryRepository, StoreSizes
from memory_gateway.adapters.memory_index import MemoryVectorIndex
from memory_gateway.adapters.reindex import Reindexer, ReindexStatus
from memory_gateway.adapters.sessions import SessionStore
from memory_gateway.domain.daily_threads import DailyThreads
from memory_gateway.domain.documents import Documents
from memory_gateway.domain.events import SimilarEvents, SimilarityTuning
from memory_gateway.domain.memories import MemoryService
from memory_gateway.domain.recall import RecallService
from memory_gateway.domain.sessions import FirstSentenceSummariser, SessionService
from memory_gateway.settings import Settings
from pma_core.cache import ValkeyCache
from pma_core.embedders import Embedder
from pma_core.resources import Background
from pma_core.vectors import VectorStore


@dataclass(frozen=True)
class State:
    settings: Settings
    pool: asyncpg.Pool
    cache: ValkeyCache
    vectors: VectorStore
    embedder: Embedder
    indexer: Indexer
    # Work after the response: mem0 mirror writes and the admin reindex; drained by the lifespan.
    background: Background
    # The optional mem0 mirror (MEM0_API_KEY); None when it is not configured.
    mem0: Mem0Mirror | None = None
    # Users' memory counts as of their last write, for recall's lexical statistics.
    sizes: StoreSizes = field(default_factory=StoreSizes)
    # What the last admin reindex did (one runs at a time).
    reindex: ReindexStatus = field(default_factory=ReindexStatus)

    def memory_repository(self) -> MemoryRepository:
        return MemoryRepository(self.pool, sizes=self.sizes)

    def memories(self) -> MemoryService:
        return MemoryService(
            store=self.memory_repository(),
            index=MemoryVectorIndex(indexer=self.indexer, vectors=self.vectors),
            embedder=self.embedder,
            dedupe_similarity=self.settings.memory.dedupe_similarity,
            mirror=self.mem0,
        )

    def recall(self) -> RecallService:
        return RecallService(
            store=self.memory_repository(),
            vectors=self.vectors,
            embedder=self.embedder,
            cache=self.cache,
            settings=self.settings.memory,
            mirror=self.mem0,
        )

    def sessions(self) -> SessionService:
        tuning = self.settings.memory
        return SessionService(
            store=SessionStore(self.cache),
            memories=self.memories(),
            summariser=FirstSentenceSummariser(),
            max_turns=tuning.session_max_turns,
            ttl_seconds=tuning.session_ttl_seconds,
        )

    def events(self) -> EventRepository:
        return EventRepository(self.pool, self.indexer)

    def similar_events(self) -> SimilarEvents:
        tuning = self.settings.memory
        return SimilarEvents(
            finder=self.events(),
            neighbours=EventVectors(self.vectors, self.embedder),
            tuning=SimilarityTuning(
                candidates=tuning.candidates,
                rrf_k=tuning.rrf_k,
                half_life_days=tuning.recency_half_life_days,
                recency_floor=tuning.recency_floor,
            ),
        )

    def daily_threads(self) -> DailyThreads:
        return DailyThreads(
            store=DailyThreadRepository(self.pool),
            index=DailyThreadVectors(indexer=self.indexer, vectors=self.vectors, embedder=self.embedder),
            candidates=self.settings.memory.candidates,
            rrf_k=self.settings.memory.rrf_k,
        )

    def documents(self) -> Documents:
        return Documents(
            store=PostgresDocumentStore(self.pool),
            index=VectorChunkIndex(indexer=self.indexer, vectors=self.vectors, embedder=self.embedder),
            settings=self.settings.memory,
        )

    def graph(self) -> GraphRepository:
        return GraphRepository(self.pool)

    def reindexer(self) -> Reindexer:
        return Reindexer(pool=self.pool, indexer=self.indexer)


async def get_state(request: Request) -> State:
    state: State = request.state.resources
    return state


StateDep = Annotated[State, Depends(get_state)]


async def _memories(state: StateDep) -> MemoryService:
    return state.memories()


async def _recall(state: StateDep) -> RecallService:
    return state.recall()


async def _sessions(state: StateDep) -> SessionService:
    return state.sessions()


async def _events(state: StateDep) -> EventRepository:
    return state.events()


async def _similar_events(state: StateDep) -> SimilarEvents:
    return state.similar_events()


async def _daily_threads(state: StateDep) -> DailyThreads:
    return state.daily_threads()


async def _documents(state: StateDep) -> Documents:
    return state.documents()


async def _graph(state: StateDep) -> GraphRepository:
    return state.graph()


MemoriesDep = Annotated[MemoryService, Depends(_memories)]
RecallDep = Annotated[RecallService, Depends(_recall)]
SessionsDep = Annotated[SessionService, Depends(_sessions)]
EventsDep = Annotated[EventRepository, Depends(_events)]
SimilarEventsDep = Annotated[SimilarEvents, Depends(_similar_events)]
DailyThreadsDep = Annotated[DailyThreads, Depends(_daily_threads)]
DocumentsDep = Annotated[Documents, Depends(_documents)]
GraphDep = Annotated[GraphRepository, Depends(_graph)]
