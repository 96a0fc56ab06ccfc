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
