"""The shared app edge, over real HTTP: error shape, 404/413/422/500, request ids, health, metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from pma_core.app import ReadinessCheck, build_app
from pma_core.embedders import EmbeddingError
from pma_core.errors import ConflictError
from pma_core.logging import JsonFormatter, current_request_id
from pma_core.settings import CoreSettings, HttpSettings
from pma_core.testing.serve import serve

router = APIRouter()


class EchoCreate(BaseModel):
    text: str = Field(min_length=1, max_length=50)
    importance: float = Field(default=0.5, ge=0, le=1)


@router.post("/v1/echo")
async def echo(body: EchoCreate) -> dict[str, Any]:
    return {"text": body.text, "request_id": current_request_id()}


@router.post("/v1/conflict")
async def conflict() -> None:
    raise ConflictError("plan is already accepted", details={"status": "accepted"})


@router.post("/v1/embed")
async def embed() -> None:
    raise EmbeddingError("embedding request to openrouter failed: HTTP 500")


@router.get("/v1/boom")
async def boom() -> None:
    raise RuntimeError("an unexpected bug")


def _probe(result: str | Exception) -> Callable[[], Any]:
    async def probe() -> str:
        if isinstance(result, Exception):
            raise result
        return result

    return probe


def _app(checks: list[ReadinessCheck], *, max_body_bytes: int = 4096) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"readiness": checks}

    settings = CoreSettings(service_name="test-service", http=HttpSettings(max_body_bytes=max_body_bytes))
    return build_app(
        settings=settings, title="test-service", version="9.9.9", description="d", lifespan=lifespan, routers=[router]
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    checks = [ReadinessCheck("postgres", _probe("postgres 18.6"))]
    async with serve(_app(checks)) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def test_healthz_names_the_service_and_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "test-service", "version": "9.9.9"}


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "no route GET /v1/nothing-here", "details": None}
    }


async def test_invalid_body_says_which_field_and_why(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/echo", json={"text": "", "importance": 3})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    fields = {detail["field"] for detail in error["details"]}
    assert fields == {"body.text", "body.importance"}
    assert "body.text" in error["message"]


async def test_app_errors_keep_their_status_and_code(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/conflict")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "plan is already accepted",
        "details": {"status": "accepted"},
    }


async def test_an_embedder_failing_is_a_502_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/embed")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert "openrouter failed" in response.json()["error"]["message"]


async def test_unexpected_errors_are_500_with_the_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.get("/v1/boom", headers={"X-Request-ID": "trace-123"})
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "internal server error",
        "details": {"request_id": "trace-123"},
    }
    assert response.headers["x-request-id"] == "trace-123"
    assert "an unexpected bug" in caplog.text


async def test_request_id_is_kept_or_minted(client: httpx.AsyncClient) -> None:
    kept = await client.post("/v1/echo", json={"text": "hi"}, headers={"X-Request-ID": "abc-1"})
    minted = await client.post("/v1/echo", json={"text": "hi"})
    assert kept.json()["request_id"] == kept.headers["x-request-id"] == "abc-1"
    assert len(minted.headers["x-request-id"]) == 32
    assert minted.json()["request_id"] == minted.headers["x-request-id"]


async def test_declared_oversize_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/echo", content=b"x" * 5000, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["details"] == {"max_body_bytes": 4096}


async def test_chunked_oversize_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 1000

    response = await client.post("/v1/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


async def test_chunked_body_within_limit_is_served(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": '
        yield b'"chunked"}'

    response = await client.post("/v1/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json()["text"] == "chunked"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.post("/v1/echo", json={"text": "hi"})
    await client.get("/v1/nothing-here")
    body = (await client.get("/metrics")).text
    assert 'pma_http_requests_total{method="POST",route="/v1/echo",service="test-service",status="200"} 1.0' in body
    assert 'route="unmatched",service="test-service",status="404"} 1.0' in body


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"] == {"title": "test-service", "description": "d", "version": "9.9.9"}
    assert {"/healthz", "/readyz", "/metrics", "/v1/echo"} <= set(spec["paths"])
    assert (await client.get("/docs")).status_code == 200
    # What any operation may answer is declared on every one, in the error shape.
    responses = spec["paths"]["/v1/echo"]["post"]["responses"]
    for status in ("401", "403", "405", "413", "422", "500", "503"):
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorRead"}


@pytest.mark.parametrize(
    ("checks", "status_code", "overall"),
    [
        ([ReadinessCheck("postgres", _probe("ok")), ReadinessCheck("valkey", _probe("ok"), critical=False)], 200, "ok"),
        (
            [
                ReadinessCheck("postgres", _probe("ok")),
                ReadinessCheck("valkey", _probe(OSError("down")), critical=False),
            ],
            200,
            "degraded",
        ),
        (
            [ReadinessCheck("postgres", _probe(ConnectionRefusedError("refused"))), ReadinessCheck("v", _probe("ok"))],
            503,
            "fail",
        ),
    ],
)
async def test_readyz_reports_each_dependency(checks: list[ReadinessCheck], status_code: int, overall: str) -> None:
    async with serve(_app(checks)) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/readyz")
    assert response.status_code == status_code
    report = response.json()
    assert report["status"] == overall
    assert [d["name"] for d in report["dependencies"]] == [c.name for c in checks]
    failed = [d for d in report["dependencies"] if d["status"] != "ok"]
    for dependency in failed:
        assert dependency["detail"]  # names what went wrong


def test_json_log_lines_carry_service_request_id_and_extras() -> None:
    record = logging.LogRecord("pma.test", logging.INFO, __file__, 1, "applied %s", ("002",), None)
    record.migration = "002_planner_memory_schema.sql"
    record.color_message = "\x1b[36mapplied\x1b[0m"
    line = json.loads(JsonFormatter("memory-gateway").format(record))
    assert line["message"] == "applied 002"
    assert line["service"] == "memory-gateway"
    assert line["migration"] == "002_planner_memory_schema.sql"
    assert "color_message" not in line
