"""Every error leaves as `{"error": {"code", "message", "details"}}` with the right status.

Unexpected exceptions are answered by the edge middleware, which knows the request id. Postgres hung, down or
unreachable is not unexpected: asyncpg's own errors for it (a timeout, a refused or lost connection) are a 503
`unavailable` naming Postgres, so a caller knows to retry later.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from pma_core.app.methods import allowed_methods
from pma_core.errors import AppError, error_body
from pma_core.postgres import POSSIBLY_UNAVAILABLE, postgres_unavailable

_log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]),
            "message": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors()
    ]


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers: dict[str, str] | None = getattr(exc, "headers", None)  # e.g. a 429's Retry-After
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = _field_errors(exc)
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return JSONResponse(error_body("validation_error", f"invalid request: {summary}", fields), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)  # what the path answers, and no error
        message = f"{request.url.path} answers {', '.join(m for m in allowed if m != 'OPTIONS')}, not {request.method}"
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers)


async def _postgres_error(request: Request, exc: Exception) -> JSONResponse:
    unavailable = postgres_unavailable(exc)
    if unavailable is None:
        raise exc  # not Postgres's (an OSError of another dependency, a bug): the edge answers 500 and logs it
    _log.warning(unavailable.message, extra={"path": request.url.path, "error": repr(exc)})
    body = error_body(unavailable.code, unavailable.message, unavailable.details)
    return JSONResponse(body, status_code=unavailable.status_code)


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    for error_type in POSSIBLY_UNAVAILABLE:
        app.add_exception_handler(error_type, _postgres_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
