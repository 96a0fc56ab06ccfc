"""Bad input gets a 422 that names the field and says why; unknown memories a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from pma_core.contracts.memory import MAX_MEMORY_CHARS


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/remember", {"user_id": "u1", "text": "   "}, "body.text"),
        ("/v1/remember", {"user_id": "u1", "text": "x" * (MAX_MEMORY_CHARS + 1)}, "body.text"),
        ("/v1/remember", {"user_id": "u1", "text": "ok", "kind": "gossip"}, "body.kind"),
        ("/v1/remember", {"user_id": "", "text": "ok"}, "body.user_id"),
        ("/v1/remember", {"user_id": "u 1", "text": "ok"}, "body.user_id"),
        ("/v1/remember", {"user_id": "u1", "text": "ok", "importance": 2}, "body.importance"),
        ("/v1/remember", {"user_id": "u1", "text": "ok", "expires_at": "2030-01-01T00:00:00"}, "body.expires_at"),
        ("/v1/remember", {"user_id": "u1", "text": "ok", "colour": "red"}, "body.colour"),
        ("/v1/remember/batch", {"user_id": "u1", "memories": []}, "body.memories"),
        ("/v1/remember/batch", {"user_id": "u1", "memories": [{"text": "a"}] * 101}, "body.memories"),
        ("/v1/recall", {"user_id": "u1", "query": ""}, "body.query"),
        ("/v1/recall", {"user_id": "u1", "query": "q", "limit": 101}, "body.limit"),
        ("/v1/recall", {"user_id": "u1", "query": "q", "limit": 0}, "body.limit"),
        ("/v1/recall", {"user_id": "u1", "query": "q", "filters": {"kinds": ["gossip"]}}, "body.filters.kinds.0"),
        ("/v1/recall", {"user_id": "u1", "query": "q", "filters": {"metadata": {"a": [1]}}}, "body.filters.metadata.a"),
        (
            "/v1/recall",
            {
                "user_id": "u1",
                "query": "q",
                "filters": {"created_after": "2026-02-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"},
            },
            "body.filters",
        ),
    ],
)
async def test_invalid_bodies_are_422_naming_the_field(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = await http.post(path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(d["field"].startswith(field) for d in error["details"]), error


async def test_an_update_with_nothing_to_change_is_422(http: httpx.AsyncClient) -> None:
    response = await http.patch(f"/v1/memories/{UUID(int=1)}", json={"user_id": "u1"})
    assert response.status_code == 422
    assert "nothing to update" in response.json()["error"]["message"]


@pytest.mark.parametrize("field", ["text", "kind", "metadata", "importance"])
async def test_an_update_to_null_is_422_and_changes_nothing(http: httpx.AsyncClient, field: str) -> None:
    # These columns always hold a value: a null reached them and was a 500 (NOT NULL, or hashing None).
    created = await http.post("/v1/remember", json={"user_id": "u1", "text": "Likes tea", "importance": 0.8})
    memory = created.json()["memory"]
    response = await http.patch(f"/v1/memories/{memory['id']}", json={"user_id": "u1", field: None})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == f"body.{field}"
    read = await http.get(f"/v1/memories/{memory['id']}", params={"user_id": "u1"})
    assert read.json() == memory


async def test_an_update_of_expires_at_to_null_clears_it(http: httpx.AsyncClient) -> None:
    body = {"user_id": "u1", "text": "Until spring", "expires_at": "2099-03-01T00:00:00Z"}
    created = (await http.post("/v1/remember", json=body)).json()["memory"]
    response = await http.patch(f"/v1/memories/{created['id']}", json={"user_id": "u1", "expires_at": None})
    assert response.status_code == 200, response.text
    assert response.json()["expires_at"] is None


async def test_unknown_memory_is_404_and_a_bad_id_422(http: httpx.AsyncClient) -> None:
    missing = await http.get(f"/v1/memories/{UUID(int=1)}", params={"user_id": "u1"})
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"memory {UUID(int=1)} not found"
    bad = await http.get("/v1/memories/not-a-uuid", params={"user_id": "u1"})
    assert bad.status_code == 422
    no_user = await http.get(f"/v1/memories/{UUID(int=1)}")
    assert no_user.status_code == 422
    assert no_user.json()["error"]["details"][0]["field"] == "query.user_id"
