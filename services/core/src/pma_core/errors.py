"""One error type carries its HTTP status; one handler maps every error to the same JSON shape.

Shape: `{"error": {"code": str, "message": str, "details": object | null}}`.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a client can act on: it knows its status code and a stable machine-readable code."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class ValidationFailedError(AppError):
    status_code = 422
    code = "validation_error"


class PayloadTooLargeError(AppError):
    status_code = 413
    code = "payload_too_large"


class TooSoonError(AppError):
    """The same operation ran too recently; `Retry-After` says when it may run again."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: float, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.headers = {"Retry-After": str(max(1, round(retry_after_seconds)))}


class UpstreamError(AppError):
    """A dependency (database, another service, a third-party API) failed or answered badly."""

    status_code = 502
    code = "upstream_error"


class UnavailableError(AppError):
    """A dependency needed for this call is down; retrying later may succeed."""

    status_code = 503
    code = "unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}
