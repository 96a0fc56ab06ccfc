"""Input Postgres cannot store, or that pydantic would read too laxly, is refused at the edge with a 422."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10.0) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/remember", {"user_id": "alice", "text": "a\u0000b"}, "body.text"),
        ("POST", "/v1/remember", {"user_id": "alice", "text": "ok", "metadata": {"k": "\u0000"}}, "body.metadata.k"),
        ("POST", "/v1/recall", {"user_id": "alice", "query": "x\u0000"}, "body.query"),
        ("POST", "/v1/sessions/s1/turns", {"user_id": "alice", "role": "user", "content": "\u0000"}, "body.content"),
        ("GET", "/v1/sessions?user_id=al%00ice", None, "query.user_id"),
        (
            "PUT",
            "/v1/graph/nodes",
            {"user_id": "alice", "node_type": "person", "key": "k\u0000", "name": "n"},
            "body.key",
        ),
    ],
)
async def test_a_nul_character_is_a_422_naming_the_field(
    http: httpx.AsyncClient, method: str, path: str, body: object, field: str
) -> None:
    response = await http.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    # Nothing was stored: the session never started.
    sessions = await http.get("/v1/sessions", params={"user_id": "alice"})
    assert sessions.json()["session_ids"] == []


@pytest.mark.parametrize("moment", [0, 1700000000, "0", "1700000000.5"])
async def test_a_number_is_not_a_datetime(http: httpx.AsyncClient, moment: object) -> None:
    response = await http.post("/v1/remember", json={"user_id": "alice", "text": "Expires", "expires_at": moment})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.expires_at"
    recall = await http.post(
        "/v1/recall", json={"user_id": "alice", "query": "x", "filters": {"created_after": moment}}
    )
    assert recall.status_code == 422


async def test_importance_comes_back_as_it_was_sent(http: httpx.AsyncClient) -> None:
    created = await http.post("/v1/remember", json={"user_id": "alice", "text": "Likes tea", "importance": 0.8})
    assert created.json()["memory"]["importance"] == 0.8
    memory_id = created.json()["memory"]["id"]
    read = await http.get(f"/v1/memories/{memory_id}", params={"user_id": "alice"})
    assert read.json()["importance"] == 0.8
