"""The shared HTTP client: timeouts, retries on idempotent calls, request-id propagation, typed errors.

A call is retried only when repeating it cannot do harm: GET/HEAD/PUT/DELETE, or a POST that carries
an Idempotency-Key. It is retried on connection failures, 429 and 502/503/504, with exponential
backoff that honours Retry-After (capped).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel

from pma_core.app.schemas import HealthRead, ReadinessRead
from pma_core.errors import AppError, UnavailableError, UpstreamError
from pma_core.logging import REQUEST_ID_HEADER, current_request_id

ModelT = TypeVar("ModelT", bound=BaseModel)
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_MAX_BACKOFF_SECONDS = 5.0


class RemoteServiceError(AppError):
    """Another service answered with a 4xx: passed on with its status, code and message."""

    def __init__(self, *, service: str, status_code: int, code: str, message: str, details: Any) -> None:
        super().__init__(f"{service}: {message}", details=details, code=code)
        self.status_code = status_code
        self.service = service


def _remote_error(response: httpx.Response) -> tuple[str, str, Any]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"]), error.get("details")
    except (ValueError, KeyError, TypeError):
        return "http_error", response.text[:300] or response.reason_phrase, None


def _backoff(attempt: int, response: httpx.Response | None) -> float:
    retry_after: str | None = response.headers.get("retry-after") if response is not None else None
    if retry_after is not None and retry_after.replace(".", "", 1).isdigit():
        return min(float(retry_after), _MAX_BACKOFF_SECONDS)
    return min(0.1 * 2.0**attempt, _MAX_BACKOFF_SECONDS)


class ServiceClient:
    service_name: ClassVar[str] = "service"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        bearer_token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        # The token lives in the client's default headers, never in a log line or an error message.
        auth = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else {}
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport, headers=auth)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        accept_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send a call, retrying when safe: 4xx -> RemoteServiceError, 5xx -> UpstreamError, down -> 503."""
        headers = self._headers(idempotency_key)
        retryable = method.upper() in _IDEMPOTENT_METHODS or idempotency_key is not None
        attempts = self.retries + 1 if retryable else 1
        for attempt in range(attempts):
            response = await self._send_once(
                method, path, json=json, params=params, headers=headers, last=attempt == attempts - 1
            )
            if response is None or (response.status_code in _RETRY_STATUSES and attempt < attempts - 1):
                await asyncio.sleep(_backoff(attempt, response))
                continue
            return self._checked(response, accept_statuses)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _send_once(
        self, method: str, path: str, *, json: Any, params: Any, headers: dict[str, str], last: bool
    ) -> httpx.Response | None:
        try:
            return await self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.TransportError as exc:
            if last:
                raise UnavailableError(
                    f"{self.service_name} is unreachable at {self.base_url}: {type(exc).__name__}",
                    details={"service": self.service_name},
                ) from exc
            return None

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _checked(self, response: httpx.Response, accept_statuses: frozenset[int]) -> httpx.Response:
        status = response.status_code
        if status < 400 or status in accept_statuses:
            return response
        code, message, details = _remote_error(response)
        if status in (401, 403):
            # Our caller did nothing wrong: this service's own credentials were refused. Passing the 401 on
            # would tell them to fix a token they never sent.
            raise UpstreamError(
                f"{self.service_name} refused this service's credentials ({status}): {message}; PMA_API_TOKEN"
                " (and Cloudflare Access) must agree between the services",
                details={"service": self.service_name, "status": status, "code": code},
            )
        if status < 500:
            raise RemoteServiceError(
                service=self.service_name, status_code=status, code=code, message=message, details=details
            )
        raise UpstreamError(
            f"{self.service_name} failed with {status}: {message}",
            details={"service": self.service_name, "status": status, "code": code},
        )

    async def get_model(self, path: str, model: type[ModelT], **kwargs: Any) -> ModelT:
        response = await self.request("GET", path, **kwargs)
        return model.model_validate(response.json())

    async def healthz(self) -> HealthRead:
        return await self.get_model("/healthz", HealthRead)

    async def readyz(self) -> ReadinessRead:
        """The service's readiness report; a 503 is an answer too (it names what failed)."""
        response = await self.request("GET", "/readyz", accept_statuses=frozenset({503}))
        return ReadinessRead.model_validate(response.json())

    async def delete_user(self, user_id: str) -> dict[str, int]:
        """Delete everything this service holds for a user (an admin operation); returns rows deleted per table."""
        response = await self.request("DELETE", f"/v1/users/{user_id}")
        deleted: dict[str, int] = response.json()["deleted"]
        return deleted

    async def probe(self) -> str:
        """Readiness check for the services that call this one: liveness only, so checks never recurse."""
        health = await self.healthz()
        return f"{health.service} {health.version}"
