"""`build_app`: the FastAPI app every service starts from."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI

from pma_core.app.handlers import register_error_handlers
from pma_core.app.metrics import HttpMetrics
from pma_core.app.middleware import EdgeMiddleware
from pma_core.app.ops import router as ops_router
from pma_core.app.schemas import ErrorRead
from pma_core.settings import CoreSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]]

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorRead, "description": "Request body over the documented limit"},
    422: {"model": ErrorRead, "description": "Invalid input: which field and why"},
    500: {"model": ErrorRead, "description": "Unexpected error (carries the request id)"},
}


def build_app(
    *,
    settings: CoreSettings,
    title: str,
    version: str,
    description: str,
    lifespan: Lifespan,
    routers: list[APIRouter] | None = None,
) -> FastAPI:
    """A FastAPI app with the shared edge (request id, body limit, metrics), error shape and ops endpoints.

    The lifespan yields the request state: it must include `readiness`, the list of `ReadinessCheck`
    that `/readyz` runs, built from the resources the lifespan opened.
    """
    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan,
        responses=_ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.metrics = HttpMetrics(settings.service_name)
    register_error_handlers(app)
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.http.max_body_bytes, metrics=app.state.metrics)
    app.include_router(ops_router)
    for router in routers or []:
        app.include_router(router)
    return app
