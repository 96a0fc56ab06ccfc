"""Operator endpoints: rebuild the vector index from Postgres while the service keeps answering."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from memory_gateway.adapters.reindex import Reindexer, ReindexStatus, run_job
from memory_gateway.adapters.tables import INDEXED_TABLES
from memory_gateway.deps import StateDep
from pma_core.errors import ConflictError

router = APIRouter(prefix="/v1/admin", tags=["admin"])
Collection = Literal["agent_memories", "doc_chunks", "events"]


class ReindexCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collections: list[Collection] | None = Field(default=None, min_length=1, description="Default: all.")


class ReindexRead(BaseModel):
    state: str
    collections: list[str]
    collection: str | None
    done: int
    total: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


def _status(request: Request) -> ReindexStatus:
    status: ReindexStatus = request.app.state.reindex_status
    return status


@router.post("/reindex", response_model=ReindexRead, status_code=202, summary="rebuild Qdrant from Postgres")
async def start_reindex(body: ReindexCreate, state: StateDep, request: Request, response: Response) -> ReindexRead:
    """Starts a background rebuild (one at a time: 409 while one runs); poll GET for progress."""
    status = _status(request)
    if status.state == "running":
        raise ConflictError("a reindex is already running", details={"collection": status.collection})
    tables = [t for t in INDEXED_TABLES if body.collections is None or t.collection in body.collections]
    task = asyncio.create_task(run_job(Reindexer(pool=state.pool, indexer=state.indexer), tables, status))
    request.app.state.reindex_task = task  # keep a reference so the task is not garbage-collected
    status.state = "running"
    response.headers["Location"] = "/v1/admin/reindex"
    return ReindexRead(**vars(status))


@router.get("/reindex", response_model=ReindexRead, summary="progress of the last reindex")
async def reindex_status(request: Request) -> ReindexRead:
    return ReindexRead(**vars(_status(request)))
