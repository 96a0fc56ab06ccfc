"""One loopback app standing in for the planner, the scheduler and the memory-gateway, speaking the
parts of their HTTP APIs the observer calls (paths, query parameters and bodies as their contracts
define them), over records a test puts in. It fails as they do when a test says so: a 503 per service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from pma_core.contracts.activity import ActiveUsersRead
from pma_core.contracts.daily_threads import (
    DailyThreadRead,
    DailyThreadUpsert,
    DailyThreadWriteRead,
    DayScoreParts,
    SimilarDayHit,
    SimilarDaysRead,
    SimilarDaysRequest,
)
from pma_core.contracts.events import EventListRead, EventRead
from pma_core.contracts.executions import ExecutionListRead, ExecutionRead
from pma_core.contracts.library import PromptTemplateListRead
from pma_core.contracts.memory import MemoryCreate, MemoryRead, RememberRead
from pma_core.contracts.plans import PlanListRead
from pma_core.contracts.scheduling import BlockListRead, BusyInterval, BusyRead, CalendarBlockRead, ProfileRead
from pma_core.contracts.tasks import TaskListRead, TaskRead

SERVICE_OF_PATH = {
    "/v1/profiles": "scheduler", "/v1/blocks": "scheduler", "/v1/busy": "scheduler",
    "/v1/tasks": "planner", "/v1/plans": "planner", "/v1/executions": "planner", "/v1/prompt-templates": "planner",
    "/v1/events": "memory", "/v1/daily_threads": "memory", "/v1/similar_days": "memory", "/v1/remember": "memory",
}  # fmt: skip


def _in(moment: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if moment is None:
        return start is None and end is None
    return (start is None or moment >= start) and (end is None or moment < end)


@dataclass
class Records:
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: list[TaskRead] = field(default_factory=list)
    blocks: dict[str, list[CalendarBlockRead]] = field(default_factory=dict)
    executions: list[ExecutionRead] = field(default_factory=list)
    busy: dict[str, list[BusyInterval]] = field(default_factory=dict)
    events: list[EventRead] = field(default_factory=list)
    threads: dict[tuple[str, str], DailyThreadRead] = field(default_factory=dict)
    thread_writes: int = 0
    memories: list[MemoryCreate] = field(default_factory=list)
    down: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def users(self) -> list[str]:
        users = {t.user_id for t in self.tasks} | {r.user_id for r in self.executions} | set(self.blocks)
        return sorted(users)


def standins(records: Records) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def outages(request: Request, call_next: Any) -> Any:
        path = request.url.path
        records.calls.append(f"{request.method} {path}")
        service = next((s for prefix, s in SERVICE_OF_PATH.items() if path.startswith(prefix)), None)
        if service in records.down:
            body = {"error": {"code": "unavailable", "message": f"{service} is down", "details": None}}
            return JSONResponse(body, status_code=503)
        return await call_next(request)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "stand-in", "version": "0"}

    @app.get("/v1/profiles/{user_id}")
    async def profile(user_id: str) -> ProfileRead:
        return ProfileRead.model_validate({"user_id": user_id, "updated_at": None} | records.profiles.get(user_id, {}))

    @app.get("/v1/blocks")
    async def blocks(user_id: str, from_: Annotated[datetime, Query(alias="from")], to: datetime) -> BlockListRead:
        found = [
            b for b in records.blocks.get(user_id, []) if b.start < to and b.end > from_ and b.status != "replaced"
        ]
        return BlockListRead(blocks=sorted(found, key=lambda b: b.start))

    @app.get("/v1/busy")
    async def busy(user_id: str, from_: Annotated[datetime, Query(alias="from")], to: datetime) -> BusyRead:
        if user_id not in records.busy:
            return BusyRead(source="none", available=True, intervals=[], error=None)
        found = [i for i in records.busy[user_id] if i.start < to and i.end > from_]
        return BusyRead(source="google", available=True, intervals=found, error=None)

    @app.get("/v1/users/active")
    async def active(since: datetime, until: datetime) -> ActiveUsersRead:
        return ActiveUsersRead(user_ids=records.users(), next_after=None)

    @app.get("/v1/tasks")
    async def tasks(
        user_id: str,
        ids: Annotated[list[UUID] | None, Query()] = None,
        completed_after: datetime | None = None, completed_before: datetime | None = None,
        deadline_after: datetime | None = None, deadline_before: datetime | None = None,
        limit: int = 100,
    ) -> TaskListRead:  # fmt: skip
        found = [t for t in records.tasks if t.user_id == user_id and (ids is None or t.id in ids)]
        if completed_after or completed_before:
            found = [t for t in found if _in(t.completed_at, completed_after, completed_before)]
        if deadline_after or deadline_before:
            found = [t for t in found if _in(t.deadline, deadline_after, deadline_before)]
        return TaskListRead(tasks=found[:limit])

    @app.get("/v1/plans")
    async def plans(user_id: str) -> PlanListRead:
        return PlanListRead(plans=[])

    @app.get("/v1/executions")
    async def executions(user_id: str, since: datetime, until: datetime) -> ExecutionListRead:
        found = [r for r in records.executions if r.user_id == user_id and since <= r.started_at < until]
        return ExecutionListRead(executions=sorted(found, key=lambda r: r.started_at, reverse=True), next_cursor=None)

    @app.get("/v1/prompt-templates")
    async def templates() -> PromptTemplateListRead:
        return PromptTemplateListRead(templates=[])

    @app.get("/v1/events")
    async def events(user_id: str, since: datetime, until: datetime, limit: int = 50) -> EventListRead:
        found = [e for e in records.events if e.user_id == user_id and since <= e.occurred_at < until]
        return EventListRead(events=found[:limit])

    @app.put("/v1/daily_threads")
    async def upsert_thread(body: DailyThreadUpsert) -> DailyThreadWriteRead:
        records.thread_writes += 1
        now = datetime.now(UTC)
        previous = records.threads.get((body.user_id, body.key))
        thread = DailyThreadRead(
            id=previous.id if previous else uuid4(), created_at=previous.created_at if previous else now,
            updated_at=now, **body.model_dump(),
        )  # fmt: skip
        records.threads[(body.user_id, body.key)] = thread
        return DailyThreadWriteRead(thread=thread, outcome="updated" if previous else "created")

    @app.post("/v1/similar_days")
    async def similar_days(body: SimilarDaysRequest) -> SimilarDaysRead:
        # The user's other threads, newest write first, scored by rank alone: the gateway's ranking is its own
        # tests' concern; the observer's is what it does with the hits.
        others = [t for (user, key), t in records.threads.items() if user == body.user_id and key != body.key]
        others = [t for t in others if body.kind is None or t.kind == body.kind]
        ranked = sorted(others, key=lambda t: t.updated_at, reverse=True)[: body.limit]
        hits = []
        for rank, thread in enumerate(ranked, start=1):
            rrf = round(1 / (60 + rank), 6)
            parts = DayScoreParts(
                dense_rank=rank, dense_similarity=None, lexical_rank=None, lexical_score=None, rrf=rrf, recency=1.0,
                final=rrf,
            )  # fmt: skip
            hits.append(SimilarDayHit(thread=thread, score=rrf, parts=parts))
        return SimilarDaysRead(hits=hits, took_ms=0.0)

    @app.post("/v1/remember")
    async def remember(body: MemoryCreate) -> RememberRead:
        records.memories.append(body)
        now = datetime.now(UTC)
        memory = MemoryRead(
            id=uuid4(), user_id=body.user_id, kind=body.kind, text=body.text, key=body.key, source=body.source,
            metadata=body.metadata, importance=body.importance, status="active", valid_from=now, valid_to=None,
            superseded_by=None, expires_at=None, created_at=now, updated_at=now,
        )  # fmt: skip
        return RememberRead(memory=memory, outcome="created")

    return app
