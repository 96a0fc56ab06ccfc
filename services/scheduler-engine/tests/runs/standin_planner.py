"""A stand-in for the planner-engine's report endpoint, `POST /v1/plans/{id}/schedule-result`, in these
tests only (the real one is exercised with both services in tests/test_planner_with_scheduler.py).

It validates the body as the contract's `ScheduleResult` (422 otherwise), records each report, and can
answer 503 for the next calls to play a planner that is down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from pma_core.contracts.scheduling import ScheduleResult
from pma_core.errors import error_body


@dataclass
class StandInPlanner:
    url: str = ""
    unavailable_for: int = 0
    reports: list[tuple[UUID, ScheduleResult]] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for_reports(self, count: int = 1, *, seconds: float = 10) -> list[tuple[UUID, ScheduleResult]]:
        """The reports once `count` arrived (waiting at most `seconds`): a run reads as finished before its report
        reaches the planner, since the report is sent after the run is stored."""
        async with asyncio.timeout(seconds), self._arrived:
            await self._arrived.wait_for(lambda: len(self.reports) >= count)
        return self.reports

    def app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": "planner-engine", "version": "stand-in"}

        @app.post("/v1/plans/{plan_id}/schedule-result")
        async def report(plan_id: UUID, request: Request) -> JSONResponse:
            if self.unavailable_for > 0:
                self.unavailable_for -= 1
                return JSONResponse(error_body("unavailable", "planner restarting"), status_code=503)
            try:
                result = ScheduleResult.model_validate(await request.json())
            except ValidationError as exc:
                return JSONResponse(error_body("validation_error", str(exc)), status_code=422)
            self.reports.append((plan_id, result))
            async with self._arrived:
                self._arrived.notify_all()
            return JSONResponse({"id": str(plan_id), "user_id": result.user_id})

        return app
