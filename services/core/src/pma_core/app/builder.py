"""`build_app`: the FastAPI app every service starts from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypedDict, TypeVar

from fastapi import APIRouter, Depends, FastAPI

from pma_core.app.access import ALWAYS_PUBLIC_PATHS, AccessMiddleware, admin_route_patterns, public_path_patterns
from pma_core.app.cloudflare import CloudflareAccessVerifier
from pma_core.app.handlers import register_error_handlers
from pma_core.app.metrics import HttpMetrics
from pma_core.app.middleware import EdgeMiddleware
from pma_core.app.nul import reject_nul
from pma_core.app.openapi import declare_bad_body, declare_bearer_auth, declare_no_nul
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

# What any operation may answer, whatever its route: declared once so a client generated from the OpenAPI
# expects them (a route adds its own 404, 409...).
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead, "description": "No bearer token, or not one of PMA_API_TOKEN (when it is set)"},
    403: {"model": ErrorRead, "description": "Admin operation without PMA_ADMIN_TOKEN, or Cloudflare Access refused"},
    405: {"model": ErrorRead, "description": "The path does not take this method; `Allow` lists those it does"},
    413: {"model": ErrorRead, "description": "Request body over the documented limit"},
    422: {"model": ErrorRead, "description": "Invalid input: which field and why"},
    500: {"model": ErrorRead, "description": "Unexpected error (carries the request id)"},
    503: {"model": ErrorRead, "description": "A dependency this call needs is down or hung (named); retry later"},
}


def build_app(
    *,
    settings: CoreSettings,
    version: str,
    description: str,
    lifespan: Lifespan,
    routers: list[APIRouter] | None = None,
    title: str | None = None,
    public_paths: Sequence[str] = (),
    admin_routes: Sequence[tuple[str, str]] = (),
) -> FastAPI:
    """A FastAPI app with the shared edge (request id, body limit, metrics, access control), error shape and
    ops endpoints.

    The lifespan yields a `LifespanState`: the service's resources and its readiness checks. The title
    (what /healthz and the OpenAPI name) is the service's name unless given. `public_paths` are route
    templates reached without the bearer token because they carry a secret of their own (a feed token, an
    OAuth state); Cloudflare Access does not apply to them either (a calendar app cannot send its assertion).
    `admin_routes` are (method or `*`, route template) pairs that need PMA_ADMIN_TOKEN once it is set.
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
    cloudflare = settings.cloudflare_access
    # Added first, so it runs inside the edge: a refusal gets a request id and is counted.
    app.add_middleware(
        AccessMiddleware,
        tokens=settings.access.tokens,
        cloudflare=CloudflareAccessVerifier(cloudflare) if cloudflare.enabled else None,
        public_paths=public_path_patterns(public_paths),
        admin_tokens=settings.access.admin_tokens,
        admin_routes=admin_route_patterns(admin_routes),
    )
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.http.max_body_bytes, metrics=app.state.metrics)
    app.include_router(ops_router)
    for router in routers or []:
        app.include_router(router)
    _refine_openapi(app, public_paths)
    return app


def _refine_openapi(app: FastAPI, public_paths: Sequence[str]) -> None:
    """Generate the OpenAPI once, with what FastAPI cannot infer added (pma_core.app.openapi): the bearer
    token, 400 for a body that is not JSON, no NUL in any string."""
    generate = app.openapi
    public = {*ALWAYS_PUBLIC_PATHS, *public_paths}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        declare_bearer_auth(schema, public)
        declare_bad_body(schema)
        declare_no_nul(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment(settings_type: type[S], create_app: Callable[[S], FastAPI]) -> FastAPI:
    """What a service's `app_from_env` (uvicorn's factory) does: read the settings from the environment,
    configure logging by them, build the app."""
    settings = settings_type()
    configure_logging(service=settings.service_name, level=settings.log.level, fmt=settings.log.format)
    return create_app(settings)
