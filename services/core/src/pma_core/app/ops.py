"""Operational endpoints: liveness, readiness, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pma_core.app.readiness import ReadinessCheck, run_checks
from pma_core.app.schemas import ErrorRead, HealthRead, ReadinessRead

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthRead, summary="Liveness: the process answers")
async def healthz(request: Request) -> HealthRead:
    return HealthRead(service=request.app.title, version=request.app.version)


@router.get(
    "/readyz",
    response_model=ReadinessRead,
    summary="Readiness: every dependency answers",
    responses={503: {"model": ReadinessRead, "description": "A critical dependency failed; it is named."}},
)
async def readyz(request: Request) -> JSONResponse:
    checks: list[ReadinessCheck] = getattr(request.state, "readiness", [])
    report = await run_checks(request.app.title, checks)
    status_code = 503 if report.status == "fail" else 200
    return JSONResponse(report.model_dump(mode="json"), status_code=status_code)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 500: {"model": ErrorRead}},
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
