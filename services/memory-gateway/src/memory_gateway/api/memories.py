"""Long-term memory over HTTP: remember, recall, and one memory's get / update / forget / history."""

from __future__ import annotations

import json
import time
from uuid import UUID

from fastapi import APIRouter, Response, status

from memory_gateway.deps import MemoriesDep, RecallDep
from memory_gateway.domain.memories import new_memory
from pma_core.app.params import IdempotencyKeyHeader, UserQuery, with_batch_keys, with_header_key
from pma_core.app.schemas import error_responses
from pma_core.contracts.memory import (
    MemoryBatchCreate,
    MemoryCreate,
    MemoryHistoryRead,
    MemoryRead,
    MemoryUpdate,
    RecallRead,
    RecallRequest,
    RememberBatchRead,
    RememberRead,
)

router = APIRouter(prefix="/v1", tags=["memories"])


@router.post(
    "/remember",
    response_model=RememberRead,
    responses={status.HTTP_201_CREATED: {"model": RememberRead, "description": "A new memory: created"}},
    summary="remember: store a memory (deduplicated)",
)
async def remember(
    body: MemoryCreate, memories: MemoriesDep, response: Response, key: IdempotencyKeyHeader = None
) -> RememberRead:
    """201 when a memory was created; 200 when it merged into one, repeated one, or replayed a key (the
    body's `idempotency_key` or the `Idempotency-Key` header)."""
    body = with_header_key(body, key)
    (result,) = await memories.remember(body.user_id, [new_memory(body)])
    response.status_code = status.HTTP_201_CREATED if result.outcome == "created" else status.HTTP_200_OK
    return memories.remembered(result)


@router.post("/remember/batch", response_model=RememberBatchRead, summary="remember up to 100 memories at once")
async def remember_batch(
    body: MemoryBatchCreate, memories: MemoriesDep, key: IdempotencyKeyHeader = None
) -> RememberBatchRead:
    """All or nothing: the batch is one transaction. With an `Idempotency-Key` header K, an item without
    its own key gets `K:<index>`, so a retried batch replays instead of storing its memories twice."""
    items = with_batch_keys(body.memories, key)
    results = await memories.remember(body.user_id, [new_memory(item) for item in items])
    return RememberBatchRead(results=[memories.remembered(r) for r in results])


@router.post("/recall", response_model=RecallRead, summary="recall: hybrid retrieval, explained")
async def recall(body: RecallRequest, recalls: RecallDep) -> Response:
    """Answers with JSON built once: a cache hit is returned as stored, never parsed or validated again."""
    started = time.perf_counter()
    answer = await recalls.answer(body)
    # `{"hits": ..., "external_hits": ...}` completed with `cached` and `took_ms`: a RecallRead.
    took_ms = round((time.perf_counter() - started) * 1000, 3)
    tail = f',"cached":{json.dumps(answer.cached)},"took_ms":{json.dumps(took_ms)}}}'
    return Response(content=answer.payload[:-1] + tail.encode(), media_type="application/json")


@router.get(
    "/memories/{memory_id}", response_model=MemoryRead, responses=error_responses(404), summary="get one memory"
)
async def get_memory(memory_id: UUID, user_id: UserQuery, memories: MemoriesDep) -> MemoryRead:
    return memories.read(await memories.get(user_id, memory_id))


@router.patch(
    "/memories/{memory_id}",
    response_model=MemoryRead,
    responses=error_responses(404),
    summary="update one memory (history kept)",
)
async def update_memory(memory_id: UUID, body: MemoryUpdate, memories: MemoriesDep) -> MemoryRead:
    changes = body.model_dump(exclude={"user_id"}, exclude_unset=True)
    return memories.read(await memories.update(body.user_id, memory_id, changes))


@router.delete(
    "/memories/{memory_id}",
    status_code=204,
    responses=error_responses(404),
    summary="forget one memory (and its history)",
)
async def forget_memory(memory_id: UUID, user_id: UserQuery, memories: MemoriesDep) -> Response:
    await memories.forget(user_id, memory_id)
    return Response(status_code=204)


@router.get(
    "/memories/{memory_id}/history",
    response_model=list[MemoryHistoryRead],
    responses=error_responses(404),
    summary="a memory's history",
)
async def memory_history(memory_id: UUID, user_id: UserQuery, memories: MemoriesDep) -> list[MemoryHistoryRead]:
    return await memories.history(user_id, memory_id)
