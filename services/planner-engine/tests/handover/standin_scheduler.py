"""A stand-in for the scheduler-engine's intake, `POST /v1/schedule`, in these tests only.

The contract is `pma_core.contracts.scheduling` (ScheduleRequest in, ScheduleAccepted out, the
Idempotency-Key header carrying the request's key); its real server arrives with the scheduler-engine's
issue. Until then this small FastAPI app serves exactly that contract, so the planner's hand-over is
tested over real HTTP through its real client: it validates the body as a `ScheduleRequest` (422
otherwise), records every request with its Idempotency-Key header, creates one run per idempotency
key (a repeat gets the first run's id, as the real scheduler must), and can answer 503 for the first
calls to play a scheduler that is up but not taking work yet. Replace it with the real scheduler-engine
in these tests once that endpoint exists.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from uuid import UUID

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.scheduling import ScheduleAccepted, ScheduleRequest
from pma_core.embedded.process import free_port
from pma_core.errors import error_body
from pma_core.settings import ServiceUrls
from pma_core.testing.serve import serve

# The `start_planner` fixture (conftest.py): serve a planner with some settings changed.
PlannerFactory = Callable[..., AbstractAsyncContextManager[PlannerEngineClient]]


@dataclass
class Received:
    """One intake request as the stand-in saw it."""

    body: ScheduleRequest
    idempotency_key: str | None
    status: int


@dataclass
class StandInScheduler:
    """What the stand-in received and the runs it created; `unavailable_for` 503s the next N calls."""

    unavailable_for: int = 0
    received: list[Received] = field(default_factory=list)
    runs: dict[str, UUID] = field(default_factory=dict)
    calls: int = 0

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.status < 300]

    def app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": "scheduler-engine", "version": "stand-in"}

        @app.post("/v1/schedule", status_code=202)
        async def schedule(
            request: Request, idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")
        ) -> JSONResponse:
            self.calls += 1
            try:
                body = ScheduleRequest.model_validate_json(await request.body())
            except ValidationError as exc:
                details = exc.errors(include_url=False, include_input=False, include_context=False)
                return JSONResponse(error_body("validation_error", "invalid ScheduleRequest", details), 422)
            if self.calls <= self.unavailable_for:
                self.received.append(Received(body, idempotency_key, 503))
                return JSONResponse(
                    error_body("unavailable", "the scheduler is starting"), 503, headers={"Retry-After": "0"}
                )
            self.received.append(Received(body, idempotency_key, 202))
            run_id = self.runs.setdefault(body.idempotency_key, uuid.uuid4())
            return JSONResponse(ScheduleAccepted(run_id=run_id, status="queued").model_dump(mode="json"), 202)

        return app


@asynccontextmanager
async def serve_scheduler(port: int, *, unavailable_for: int = 0) -> AsyncIterator[StandInScheduler]:
    """Serve a fresh stand-in on 127.0.0.1:`port` until the block exits."""
    scheduler = StandInScheduler(unavailable_for=unavailable_for)
    async with serve(scheduler.app(), port=port):
        yield scheduler


def closed_url() -> str:
    """A loopback URL nothing listens on: a service that is down."""
    return f"http://127.0.0.1:{free_port()}"


def urls_with_scheduler_at(port: int) -> ServiceUrls:
    """The planner's service URLs: the scheduler at `port` (up or not yet), the memory-gateway down."""
    return ServiceUrls(memory_gateway_url=closed_url(), scheduler_engine_url=f"http://127.0.0.1:{port}")
