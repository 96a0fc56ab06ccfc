"""Operator endpoints: rebuild the vector index from Postgres while the service keeps answering."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from memory_gateway.adapters.reindex import ReindexStatus, run_job
from memory_gateway.adapters.tables import INDEXED_TABLES
from memory_gateway.deps import StateDep
from pma_core.app.schemas import error_responses
from pma_core.contracts.common import RequestModel
from pma_core.errors import ConflictError, TooSoonError, ValidationFailedError
from pma_core.vectors import Collection

router = APIRouter(prefix="/v1/admin", tags=["admin"])
# The collections a table of ours is mirrored into: all of them since daily_threads got its table (006). A
# collection added to `Collection` before its table is refused (not_reindexable): nothing could rebuild it.
REINDEXABLE = tuple(table.collection for table in INDEXED_TABLES)


class ReindexCreate(RequestModel):
    collections: list[Collection] | None = Field(
        default=None, min_length=1, description=f"Default: all of {', '.join(REINDEXABLE)}."
    )


class ReindexRead(BaseModel):
    state: str
    collections: list[str]
    collection: str | None
    done: int
    total: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


@router.post(
    "/reindex",
    response_model=ReindexRead,
    status_code=202,
    responses=error_responses(409, 429),
    summary="rebuild Qdrant from Postgres",
)
async def start_reindex(body: ReindexCreate, state: StateDep, response: Response) -> ReindexRead:
    """Starts a background rebuild (one at a time: 409 while one runs; 429 within
    MEMORY_REINDEX_COOLDOWN_SECONDS of the last one); poll GET for progress."""
    status = state.reindex
    if status.state == "running":
        raise ConflictError("a reindex is already running", details={"collection": status.collection})
    unknown = sorted(set(body.collections or ()) - set(REINDEXABLE))
    if unknown:
        message = f"not mirrored from a table of the memory-gateway: {', '.join(unknown)}"
        raise ValidationFailedError(
            f"invalid request: body.collections: {message}",
            details=[{"field": "body.collections", "message": message, "type": "not_reindexable"}],
        )
    _after_cooldown(status, state.settings.memory.reindex_cooldown_seconds)
    tables = [t for t in INDEXED_TABLES if body.collections is None or t.collection in body.collections]
    status.state = "running"
    state.background.spawn(run_job(state.reindexer(), tables, status))
    response.headers["Location"] = "/v1/admin/reindex"
    return ReindexRead(**vars(status))


def _after_cooldown(status: ReindexStatus, cooldown_seconds: float) -> None:
    """429 while the last reindex finished less than the cool-down ago: back to back, they only rewrite the
    same vectors (27 in 5 minutes once left a 1.2 GB write-ahead log behind)."""
    if status.finished_at is None:
        return
    wait = cooldown_seconds - (datetime.now(UTC) - status.finished_at).total_seconds()
    if wait > 0:
        raise TooSoonError(
            f"the last reindex finished {status.finished_at.isoformat()}; the next may start in {wait:.0f} s"
            " (MEMORY_REINDEX_COOLDOWN_SECONDS)",
            retry_after_seconds=wait,
            details={"finished_at": status.finished_at.isoformat(), "retry_after_seconds": round(wait)},
        )


@router.get("/reindex", response_model=ReindexRead, summary="progress of the last reindex")
async def reindex_status(state: StateDep) -> ReindexRead:
    return ReindexRead(**vars(state.reindex))
