"""Daily threads over HTTP: upsert (PUT, by key), list by period, get, delete, and similar_days."""

from __future__ import annotations

import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from memory_gateway.deps import DailyThreadsDep
from memory_gateway.domain.daily_threads import SimilarDaysSearch
from pma_core.app.params import UserQuery
from pma_core.app.schemas import error_responses
from pma_core.contracts.daily_threads import (
    DailyThreadListQuery,
    DailyThreadListRead,
    DailyThreadRead,
    DailyThreadUpsert,
    DailyThreadWriteRead,
    SimilarDaysRead,
    SimilarDaysRequest,
)

router = APIRouter(prefix="/v1", tags=["daily threads"])


@router.put(
    "/daily_threads",
    status_code=status.HTTP_200_OK,
    responses={
        status.HTTP_201_CREATED: {"model": DailyThreadWriteRead, "description": "A new key: created"},
        **error_responses(409),
    },
    summary="Store a daily or weekly thread (updates the user's thread of the same key)",
)
async def upsert_daily_thread(
    body: DailyThreadUpsert, response: Response, threads: DailyThreadsDep
) -> DailyThreadWriteRead:
    """201 when the key is new; 200 when it updated the thread, or when nothing changed ("unchanged": not
    embedded again); 409 when the thread was deleted while this call updated it (retry). PUT because the
    call is idempotent by `key`: clients may retry it freely."""
    result = await threads.upsert(body)
    if result.outcome == "created":
        response.status_code = status.HTTP_201_CREATED
    return result


@router.get("/daily_threads", summary="The user's threads whose period overlaps [from, to], newest first")
async def list_daily_threads(
    query: Annotated[DailyThreadListQuery, Query()], threads: DailyThreadsDep
) -> DailyThreadListRead:
    return DailyThreadListRead(threads=await threads.list_threads(query))


@router.get(
    "/daily_threads/{thread_id}", responses=error_responses(404), summary="One thread (404 if it is not the user's)"
)
async def get_daily_thread(thread_id: UUID, user_id: UserQuery, threads: DailyThreadsDep) -> DailyThreadRead:
    return await threads.get(user_id, thread_id)


@router.delete(
    "/daily_threads/{thread_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(404),
    summary="Delete a thread and its vector",
)
async def delete_daily_thread(thread_id: UUID, user_id: UserQuery, threads: DailyThreadsDep) -> None:
    await threads.delete(user_id, thread_id)


@router.post(
    "/similar_days",
    responses=error_responses(404, 502),
    summary="similar_days: the threads most like one of the user's or a text, explained",
)
async def similar_days(body: SimilarDaysRequest, threads: DailyThreadsDep) -> SimilarDaysRead:
    """Threads like the one of `key` (that thread is left out) or like `text`, best first, of `kind` if given.
    404 for a key the user has no thread of; 502 when the embedder fails."""
    started = time.perf_counter()
    search = SimilarDaysSearch(user_id=body.user_id, limit=body.limit, kind=body.kind, key=body.key, text=body.text)
    found = await threads.similar(search)
    took_ms = round((time.perf_counter() - started) * 1000, 3)
    return SimilarDaysRead(hits=found.hits, lexical_only=found.lexical_only, took_ms=took_ms)
