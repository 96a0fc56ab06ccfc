"""remember takes the Idempotency-Key header by the one rule every service shares (docs/api.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10.0) as client:
        yield client


async def test_the_header_is_the_key_of_a_body_without_one(http: httpx.AsyncClient) -> None:
    body = {"user_id": "alice", "text": "Ships the newsletter on Fridays"}
    first = await http.post("/v1/remember", json=body, headers={"Idempotency-Key": "hdr-1"})
    # Another text under the same key: the retry of the first call, never a second memory.
    retry = await http.post("/v1/remember", json={**body, "text": "Other"}, headers={"Idempotency-Key": "hdr-1"})
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["outcome"] == "replayed"
    assert retry.json()["memory"]["id"] == first.json()["memory"]["id"]


async def test_a_header_that_differs_from_the_body_key_is_422(http: httpx.AsyncClient) -> None:
    body = {"user_id": "alice", "text": "Prefers mornings", "idempotency_key": "a"}
    response = await http.post("/v1/remember", json=body, headers={"Idempotency-Key": "b"})
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert (detail["field"], detail["type"]) == ("body.idempotency_key", "key_mismatch")
    agreeing = await http.post("/v1/remember", json=body, headers={"Idempotency-Key": "a"})
    assert agreeing.status_code == 201


async def test_a_retried_batch_with_the_same_header_replays_its_keyless_items(http: httpx.AsyncClient) -> None:
    body = {"user_id": "alice", "memories": [{"text": "Works from Lisbon"}, {"text": "Owns the billing service"}]}
    first = await http.post("/v1/remember/batch", json=body, headers={"Idempotency-Key": "batch-7"})
    retry = await http.post("/v1/remember/batch", json=body, headers={"Idempotency-Key": "batch-7"})
    assert [r["outcome"] for r in first.json()["results"]] == ["created", "created"]
    assert [r["outcome"] for r in retry.json()["results"]] == ["replayed", "replayed"]
    ids = [r["memory"]["id"] for r in first.json()["results"]]
    assert [r["memory"]["id"] for r in retry.json()["results"]] == ids
