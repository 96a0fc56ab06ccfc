"""A 405 lists every method the path answers (not only the first route's), and OPTIONS answers them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from pma_core.app import build_app
from pma_core.settings import CoreSettings
from pma_core.testing.serve import serve

notes = APIRouter(prefix="/v1")


@notes.get("/notes")
async def list_notes() -> list[str]:
    return []


@notes.post("/notes", status_code=201)
async def add_note() -> dict[str, str]:
    return {}


@notes.post("/notes/batch")
async def add_notes() -> dict[str, str]:
    return {}


@notes.get("/notes/{note_id:uuid}")
async def get_note(note_id: UUID) -> dict[str, str]:
    return {"id": str(note_id)}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"readiness": []}

    app = build_app(settings=CoreSettings(), version="1", description="d", lifespan=lifespan, routers=[notes])
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_a_405_lists_the_methods_of_every_route_of_the_path(http: httpx.AsyncClient) -> None:
    response = await http.delete("/v1/notes")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, OPTIONS, POST"
    assert response.json()["error"] == {
        "code": "method_not_allowed", "message": "/v1/notes answers GET, POST, not DELETE", "details": None,
    }  # fmt: skip


async def test_options_answers_what_the_path_takes(http: httpx.AsyncClient) -> None:
    options = await http.options("/v1/notes")
    assert (options.status_code, options.headers["allow"], options.content) == (204, "GET, OPTIONS, POST", b"")
    one = await http.options("/v1/notes/00000000-0000-4000-8000-000000000000")
    assert one.headers["allow"] == "GET, OPTIONS"
    assert (await http.options("/v1/nowhere")).status_code == 404


async def test_a_static_segment_beside_an_id_is_a_405_not_a_malformed_id(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/notes/batch")
    assert (response.status_code, response.headers["allow"]) == (405, "OPTIONS, POST")
    assert (await http.get("/v1/notes/not-an-id")).status_code == 404  # no route: ids are UUIDs
