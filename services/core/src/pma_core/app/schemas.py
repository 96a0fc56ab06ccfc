"""Response schemas of the operational endpoints every service serves."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

CheckStatus = Literal["ok", "degraded", "fail"]


class HealthRead(BaseModel):
    status: Literal["ok"] = "ok"
    service: str
    version: str


class DependencyRead(BaseModel):
    name: str
    status: CheckStatus
    critical: bool = Field(description="A failing critical dependency makes the service not ready (503).")
    detail: str = ""
    latency_ms: float


class ReadinessRead(BaseModel):
    status: CheckStatus
    service: str
    dependencies: list[DependencyRead]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorRead(BaseModel):
    error: ErrorDetail


# What a route may answer beyond what every operation may (build_app declares 401, 403, 405, 413, 422, 500
# and 503 everywhere, and 400 on every operation with a body): a route lists its own with `error_responses`.
_ROUTE_ERRORS: dict[int, str] = {
    400: "The body is not JSON, or a request the service cannot take as sent (the message says why)",
    404: "Not found, or owned by another user (the message names it)",
    409: "Conflicts with the resource's current state (the message says which)",
    415: "The body is not application/json",
    429: "Too soon or too many: retry after `Retry-After` seconds",
    502: "A service or provider this call needs answered with an error (named)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route's own error statuses, each with the shared error schema."""
    return {status: {"model": ErrorRead, "description": _ROUTE_ERRORS[status]} for status in statuses}
