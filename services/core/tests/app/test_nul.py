"""The NUL character is refused at the edge of every service, naming where it was (body, query, path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from pma_core.app import LifespanState, build_app
from pma_core.settings import CoreSettings

router = APIRouter()
received: list[object] = []


class Body(BaseModel):
    items: list[dict[str, str]]


@router.post("/echo/{name}")
async def echo(name: str, body: Body, q: str = "") -> dict[str, str]:
    received.append(body)
    return {"name": name, "q": q}


def _app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState[None]]:
        yield LifespanState(resources=None, readiness=[])

    return build_app(settings=CoreSettings(), version="1", description="d", lifespan=lifespan, routers=[router])


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    received.clear()
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/echo/a", {"items": [{"k": "ok"}, {"k": "bad\u0000text"}]}, "body.items.1.k"),
        ("/echo/a", {"items": [{"ba\u0000d": "v"}]}, "body.items.0.bad"),
        ("/echo/a?q=x%00y", {"items": []}, "query.q"),
        ("/echo/a%00b", {"items": []}, "path.name"),
    ],
)
async def test_a_nul_anywhere_is_a_422_naming_it(
    http: httpx.AsyncClient, path: str, body: dict[str, object], field: str
) -> None:
    response = await http.post(path, json=body)
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert (detail["field"], detail["type"]) == (field, "nul_character")
    assert received == []  # the route never ran


async def test_an_escaped_backslash_u_is_not_a_nul(http: httpx.AsyncClient) -> None:
    response = await http.post("/echo/a", json={"items": [{"k": "C:\\u0000 is a path, not a NUL"}]})
    assert response.status_code == 200
