"""`build_app`: the FastAPI app every service starts from."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypedDict, TypeVar

from fastapi import APIRouter, Depends, FastAPI

from pma_core.app.handlers import register_error_handlers
from pma_core.app.metrics import HttpMetrics
from pma_core.app.middleware import EdgeMiddleware
from pma_core.app.nul import reject_nul
from pma_core.app.ops import router as ops_router
from pma_core.app.readiness import ReadinessCheck
from pma_core.app.schemas import ErrorRead
from pma_core.logging import configure_logging
from pma_core.settings import CoreSettings

R = TypeVar("R")
S = TypeVar("S", bound=CoreSettings)


class LifespanState(TypedDict, Generic[R]):
    """What a service's lifespan yields; Starlette hands it to every request as `request.state`.

    `resources` is the service's typed state (its `deps.State`: pool, clients, background work...), read
    by its `deps.get_state`; `readiness` is what `/readyz` runs, built from the resources opened.
    """

    resources: R
    readiness: list[ReadinessCheck]


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[LifespanState[Any]]]

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorRead, "description": "Request body over the documented limit"},
    422: {"model": ErrorRead, "description": "Invalid input: which field and why"},
    500: {"model": ErrorRead, "description": "Unexpected error (carries the request id)"},
}


def build_app(
    *,
    settings: CoreSettings,
    version: str,
    description: str,
    lifespan: Lifespan,
    routers: list[APIRouter] | None = None,
    title: str | None = None,
) -> FastAPI:
    """A FastAPI app with the shared edge (request id, body limit, metrics), error shape and ops endpoints.

    The lifespan yields a `LifespanState`: the service's resources and its readiness checks. The title
    (what /healthz and the OpenAPI name) is the service's name unless given.
    """
    app = FastAPI(
        title=title or settings.service_name,
        version=version,
        description=description,
        lifespan=lifespan,
        responses=_ERROR_RESPONSES,
        dependencies=[Depends(reject_nul)],
    )
    app.state.settings = settings
    app.state.metrics = HttpMetrics(settings.service_name)
    register_error_handlers(app)
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.http.max_body_bytes, metrics=app.state.metrics)
    app.include_router(ops_router)
    for router in routers or []:
        app.include_router(router)
    return app


def app_from_environment(settings_type: type[S], create_app: Callable[[S], FastAPI]) -> FastAPI:
    """What a service's `app_from_env` (uvicorn's factory) does: read the settings from the environment,
    configure logging by them, build the app."""
    settings = settings_type()
    configure_logging(service=settings.service_name, level=settings.log.level, fmt=settings.log.format)
    return create_app(settings)
