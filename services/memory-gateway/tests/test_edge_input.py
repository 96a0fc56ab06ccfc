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


# Moments asyncpg cannot write: before year 1 or after 9999 once in UTC (an OverflowError, a 500 before the
# bound), or exactly its two infinities (stored as -infinity / infinity, read back as naive datetimes).
UNSTORABLE_MOMENTS = ["0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00"]


@pytest.mark.parametrize("moment", UNSTORABLE_MOMENTS)
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/remember", {"user_id": "alice", "text": "Expires", "expires_at": "{}"}, "body.expires_at"),
        (
            "POST",
            "/v1/recall",
            {"user_id": "alice", "query": "x", "filters": {"created_after": "{}"}},
            "body.filters.created_after",
        ),
        ("POST", "/v1/events", {"user_id": "alice", "event_type": "a.b", "occurred_at": "{}"}, "body.occurred_at"),
        ("GET", "/v1/events?user_id=alice&since={}", None, "query.since"),
        (
            "POST",
            "/v1/similar_events",
            {"user_id": "alice", "text": "x", "occurred_after": "{}"},
            "body.occurred_after",
        ),
        (
            "PUT",
            "/v1/graph/nodes",
            {"user_id": "alice", "node_type": "t", "key": "k", "valid_to": "{}"},
            "body.valid_to",
        ),
    ],
)
async def test_a_moment_postgres_cannot_hold_is_a_422(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, object] | None, field: str, moment: str
) -> None:
    def with_moment(value: object) -> object:
        if isinstance(value, dict):
            return {key: with_moment(item) for key, item in value.items()}
        return moment if value == "{}" else value

    url = path.replace("{}", moment.replace("+", "%2B"))
    response = await http.request(method, url, json=None if body is None else with_moment(body))
    assert response.status_code == 422, response.text
    assert any(d["field"].startswith(field) for d in response.json()["error"]["details"]), response.text
    assert "year must be from 2 to 9998" in response.text


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_a_day_postgres_would_store_as_infinity_is_a_422(http: httpx.AsyncClient, day: str) -> None:
    thread = {"user_id": "alice", "key": "k", "kind": "daily", "period_start": day, "period_end": day, "text": "t"}
    stored = await http.put("/v1/daily_threads", json=thread)
    assert stored.status_code == 422, stored.text
    listed = await http.get("/v1/daily_threads", params={"user_id": "alice", "from": day})
    assert listed.status_code == 422, listed.text
    assert listed.json()["error"]["details"][0]["field"] == "query.from"


async def test_the_extreme_years_are_stored_as_sent(http: httpx.AsyncClient) -> None:
    # Year 2 at the largest offset is year 1 in UTC: still a moment asyncpg writes and reads back exactly.
    created = await http.post(
        "/v1/remember", json={"user_id": "alice", "text": "Old", "expires_at": "0002-01-01T00:00:00+23:59"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["memory"]["expires_at"] == "0001-12-31T00:01:00Z"
    node = {"user_id": "alice", "node_type": "t", "key": "k", "valid_to": "9998-12-31T23:59:59-23:59"}
    upserted = await http.put("/v1/graph/nodes", json=node)
    assert upserted.status_code == 201, upserted.text
    assert upserted.json()["valid_to"] == "9999-01-01T23:58:59Z"
