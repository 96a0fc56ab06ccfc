"""Request-scoped access to what the lifespan opened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.mem0 import Mem0Mirror
from memory_gateway.adapters.memories import StoreSizes
from memory_gateway.settings import Settings
from pma_core.cache import ValkeyCache
from pma_core.embedders import Embedder
from pma_core.vectors import VectorStore


@dataclass(frozen=True)
class State:
    settings: Settings
    pool: asyncpg.Pool
    cache: ValkeyCache
    vectors: VectorStore
    embedder: Embedder
    indexer: Indexer
    # The optional mem0 mirror (MEM0_API_KEY); None when it is not configured.
    mem0: Mem0Mirror | None = None
    # Users' memory counts as of their last write, for recall's lexical statistics.
    sizes: StoreSizes = field(default_factory=StoreSizes)


def get_state(request: Request) -> State:
    state: State = request.state.resources
    return state


StateDep = Annotated[State, Depends(get_state)]
