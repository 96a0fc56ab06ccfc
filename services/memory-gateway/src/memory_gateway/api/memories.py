"""Long-term memory over HTTP: remember, recall, and one memory's get / update / forget / history."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status

from memory_gateway.adapters.memories import MemoryRepository
from memory_gateway.deps import StateDep
from memory_gateway.domain.memories import MemoryService, Remembered, now_utc
from memory_gateway.domain.models import MemoryRow, NewMemory, RecallScope, status_of
from memory_gateway.domain.recall import RecallQuery, RecallService, ScoredMemory, elapsed_ms
from pma_core.contracts.common import UserId
from pma_core.contracts.memory import (
    ExternalHit,
    MemoryBatchCreate,
    MemoryCreate,
    MemoryHistoryRead,
    MemoryItem,
    MemoryRead,
    MemoryUpdate,
    RecallHit,
    RecallRead,
    RecallRequest,
    RememberBatchRead,
    RememberRead,
    ScoreParts,
)

router = APIRouter(prefix="/v1", tags=["memories"])
UserQuery = Annotated[UserId, Query(description="The memory's owner: every call is scoped to one user.")]


def memory_service(state: StateDep) -> MemoryService:
    repository = MemoryRepository(state.pool)
    return MemoryService(
        repository=repository,
        indexer=state.indexer,
        dedupe_similarity=state.settings.memory.dedupe_similarity,
        mirror=state.mem0,
    )


def recall_service(state: StateDep) -> RecallService:
    return RecallService(
        repository=MemoryRepository(state.pool, sizes=state.sizes),
        vectors=state.vectors,
        embedder=state.embedder,
        cache=state.cache,
        settings=state.settings.memory,
    )


Memories = Annotated[MemoryService, Depends(memory_service)]
Recalls = Annotated[RecallService, Depends(recall_service)]


def _new(item: MemoryItem) -> NewMemory:
    return NewMemory(
        kind=item.kind,
        text=item.text,
        key=item.key,
        source=item.source,
        metadata=item.metadata,
        importance=item.importance,
        expires_at=item.expires_at,
        idempotency_key=item.idempotency_key,
        supersedes=tuple(item.supersedes),
    )


def _read(row: MemoryRow) -> MemoryRead:
    fields = {name: getattr(row, name) for name in MemoryRead.model_fields if name != "status"}
    return MemoryRead(**fields, status=status_of(row, now_utc()))


def _remembered(result: Remembered) -> RememberRead:
    return RememberRead(memory=_read(result.memory), outcome=result.outcome, superseded=list(result.superseded))


@router.post("/remember", response_model=RememberRead, summary="remember: store a memory (deduplicated)")
async def remember(body: MemoryCreate, memories: Memories, response: Response) -> RememberRead:
    """201 when a memory was created; 200 when it merged into one, repeated one, or replayed a key."""
    (result,) = await memories.remember(body.user_id, [_new(body)])
    response.status_code = status.HTTP_201_CREATED if result.outcome == "created" else status.HTTP_200_OK
    return _remembered(result)


@router.post("/remember/batch", response_model=RememberBatchRead, summary="remember up to 100 memories at once")
async def remember_batch(body: MemoryBatchCreate, memories: Memories) -> RememberBatchRead:
    """All or nothing: the batch is one transaction."""
    results = await memories.remember(body.user_id, [_new(item) for item in body.memories])
    return RememberBatchRead(results=[_remembered(r) for r in results])


@router.post("/recall", response_model=RecallRead, summary="recall: hybrid retrieval, explained")
async def recall(body: RecallRequest, recalls: Recalls, state: StateDep) -> Response:
    """Answers with JSON built once: a cache hit is returned as stored, never parsed or validated again."""
    started = time.perf_counter()
    entry = None
    if body.use_cache:
        entry = await recalls.cached(body.user_id, body.model_dump(mode="json", exclude={"use_cache"}))
    if entry is not None and entry.payload is not None:
        return _json(entry.payload, cached=True, started=started)
    scope = RecallScope(user_id=body.user_id, now=now_utc(), **body.filters.model_dump())
    query = RecallQuery(scope=scope, text=body.query, limit=body.limit, mmr=body.mmr, mmr_lambda=body.mmr_lambda)
    ours, theirs = await asyncio.gather(recalls.recall(query), _mem0_hits(state, body))
    found = RecallRead(hits=[_hit(s) for s in ours], external_hits=theirs, cached=False, took_ms=0.0)
    payload = found.model_dump_json(include={"hits", "external_hits"}).encode()
    if entry is not None:
        await recalls.store(entry, payload)
    return _json(payload, cached=False, started=started)


def _json(payload: bytes, *, cached: bool, started: float) -> Response:
    """`{"hits": ..., "external_hits": ...}` completed with `cached` and `took_ms`: a RecallRead."""
    tail = f',"cached":{json.dumps(cached)},"took_ms":{json.dumps(elapsed_ms(started))}}}'
    return Response(content=payload[:-1] + tail.encode(), media_type="application/json")


async def _mem0_hits(state: StateDep, body: RecallRequest) -> list[ExternalHit]:
    if not body.include_mem0 or state.mem0 is None:
        return []
    found = await state.mem0.search(body.user_id, body.query, limit=body.limit)
    return [ExternalHit(source="mem0", id=h.id, text=h.text, score=h.score) for h in found]


def _hit(scored: ScoredMemory) -> RecallHit:
    relevance = scored.relevance
    parts = ScoreParts(
        dense_rank=relevance.dense_rank,
        dense_similarity=relevance.dense_similarity,
        lexical_rank=relevance.lexical_rank,
        lexical_score=relevance.lexical_score,
        # The contract's field keeps its name; it now carries the fused relevance (docs/memory.md).
        rrf=relevance.fused,
        recency=scored.recency,
        importance=scored.importance,
        final=scored.final,
    )
    return RecallHit(memory=_read(scored.row), score=scored.final, parts=parts)


@router.get("/memories/{memory_id}", response_model=MemoryRead, summary="get one memory")
async def get_memory(memory_id: UUID, user_id: UserQuery, memories: Memories) -> MemoryRead:
    return _read(await memories.get(user_id, memory_id))


@router.patch("/memories/{memory_id}", response_model=MemoryRead, summary="update one memory (history kept)")
async def update_memory(memory_id: UUID, body: MemoryUpdate, memories: Memories) -> MemoryRead:
    changes = body.model_dump(exclude={"user_id"}, exclude_unset=True)
    return _read(await memories.update(body.user_id, memory_id, changes))


@router.delete("/memories/{memory_id}", status_code=204, summary="forget one memory (and its history)")
async def forget_memory(memory_id: UUID, user_id: UserQuery, memories: Memories) -> Response:
    await memories.forget(user_id, memory_id)
    return Response(status_code=204)


@router.get("/memories/{memory_id}/history", response_model=list[MemoryHistoryRead], summary="a memory's history")
async def memory_history(memory_id: UUID, user_id: UserQuery, memories: Memories) -> list[MemoryHistoryRead]:
    await memories.get(user_id, memory_id)  # 404 for an unknown id or another user's
    records = await memories.repository.history(user_id, memory_id)
    return [MemoryHistoryRead(**dict(r)) for r in records]
