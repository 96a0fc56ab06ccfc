"""Logging events over real HTTP: created, read back, listed with filters, replayed by key, batched atomically."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.events import MAX_PAYLOAD_BYTES, EventBatchCreate, EventCreate, EventItem

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        yield client


def _event(event_type: str = "task.done", *, hours_ago: float = 0, **fields: Any) -> EventCreate:
    return EventCreate(user_id="alice", event_type=event_type, occurred_at=NOW - timedelta(hours=hours_ago), **fields)


async def test_a_logged_event_reads_back_whole(memory: MemoryGatewayClient) -> None:
    logged = await memory.log_event(
        _event(
            actor="coder-agent",
            subject="newsletter pipeline",
            source="n8n",
            summary="Deployed the newsletter pipeline",
            payload={"run": 7, "steps": ["build", "deploy"], "ok": True},
            idempotency_key="run-7",
        )
    )
    assert logged.outcome == "created"
    event = await memory.get_event("alice", logged.event.id)
    assert event == logged.event
    assert (event.user_id, event.event_type, event.actor, event.source) == ("alice", "task.done", "coder-agent", "n8n")
    assert event.payload == {"run": 7, "steps": ["build", "deploy"], "ok": True}
    assert event.occurred_at == NOW


async def test_occurred_at_defaults_to_now(memory: MemoryGatewayClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    logged = await memory.log_event(EventCreate(user_id="alice", event_type="plan.created"))
    assert before <= logged.event.occurred_at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_a_replayed_key_returns_the_same_event_and_stores_one(
    memory: MemoryGatewayClient, http: httpx.AsyncClient
) -> None:
    first = await memory.log_event(_event(summary="first", idempotency_key="k-1"))
    again = await memory.log_event(_event(summary="changed on retry", idempotency_key="k-1"))
    assert again.outcome == "replayed"
    assert again.event == first.event  # the first event, never a second one
    assert len(await memory.list_events("alice")) == 1

    body = {"user_id": "alice", "event_type": "task.done"}
    created = await http.post("/v1/events", json=body, headers={"Idempotency-Key": "hdr-1"})
    replayed = await http.post("/v1/events", json=body, headers={"Idempotency-Key": "hdr-1"})
    assert (created.status_code, replayed.status_code) == (201, 200)
    assert created.json()["event"]["id"] == replayed.json()["event"]["id"]
    assert replayed.json()["outcome"] == "replayed"
    assert len(await memory.list_events("alice")) == 2


async def test_concurrent_retries_with_one_key_store_one_event(memory: MemoryGatewayClient) -> None:
    results = await asyncio.gather(*(memory.log_event(_event(idempotency_key="race")) for _ in range(6)))
    assert sorted(r.outcome for r in results) == ["created"] + ["replayed"] * 5
    assert len({r.event.id for r in results}) == 1
    assert len(await memory.list_events("alice")) == 1


async def test_a_header_key_that_contradicts_the_body_key_is_422(http: httpx.AsyncClient) -> None:
    body = {"user_id": "alice", "event_type": "task.done", "idempotency_key": "a"}
    response = await http.post("/v1/events", json=body, headers={"Idempotency-Key": "b"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.idempotency_key"


async def test_a_batch_is_stored_whole_and_replays_by_key(memory: MemoryGatewayClient) -> None:
    items = [EventItem(event_type="task.done", summary=f"task {i}", idempotency_key=f"t-{i}") for i in range(3)]
    results = await memory.log_events(EventBatchCreate(user_id="alice", events=items))
    assert [r.outcome for r in results] == ["created"] * 3
    assert [r.event.summary for r in results] == ["task 0", "task 1", "task 2"]

    again = await memory.log_events(EventBatchCreate(user_id="alice", events=[*items, EventItem(event_type="x")]))
    assert [r.outcome for r in again] == ["replayed", "replayed", "replayed", "created"]
    assert [r.event.id for r in again[:3]] == [r.event.id for r in results]
    assert len(await memory.list_events("alice")) == 4


async def test_a_retried_batch_with_the_same_header_replays_keyless_items(http: httpx.AsyncClient) -> None:
    body = {"user_id": "alice", "events": [{"event_type": "a"}, {"event_type": "b"}]}
    first = await http.post("/v1/events/batch", json=body, headers={"Idempotency-Key": "batch-1"})
    retry = await http.post("/v1/events/batch", json=body, headers={"Idempotency-Key": "batch-1"})
    assert [r["outcome"] for r in retry.json()["results"]] == ["replayed", "replayed"]
    assert [r["event"]["id"] for r in retry.json()["results"]] == [r["event"]["id"] for r in first.json()["results"]]


async def test_one_invalid_item_fails_the_whole_batch(memory: MemoryGatewayClient, http: httpx.AsyncClient) -> None:
    # Invalid by the contract: refused before anything is written.
    bad_type = {"user_id": "alice", "events": [{"event_type": "ok"}, {"event_type": "Not A Type"}]}
    response = await http.post("/v1/events/batch", json=bad_type)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.events.1.event_type"

    # Valid by the contract but refused by Postgres (NUL in the payload) after the first insert ran:
    # the transaction rolls that insert back.
    items = [EventItem(event_type="ok", summary="stored?"), EventItem(event_type="ok", payload={"bad": "a\x00b"})]
    with pytest.raises(RemoteServiceError) as caught:
        await memory.log_events(EventBatchCreate(user_id="alice", events=items))
    assert caught.value.status_code == 422
    assert "body.events.1" in caught.value.message
    assert await memory.list_events("alice") == []


async def test_listing_filters_by_type_and_time_newest_first(memory: MemoryGatewayClient) -> None:
    for event_type, hours_ago in [("task.done", 30), ("plan.created", 20), ("task.done", 10), ("agent.run", 1)]:
        await memory.log_event(_event(event_type, hours_ago=hours_ago, summary=f"{event_type} {hours_ago}h ago"))

    everything = await memory.list_events("alice")
    assert [e.summary for e in everything] == [
        "agent.run 1h ago",
        "task.done 10h ago",
        "plan.created 20h ago",
        "task.done 30h ago",
    ]
    tasks = await memory.list_events("alice", types=["task.done"])
    assert [e.summary for e in tasks] == ["task.done 10h ago", "task.done 30h ago"]
    two_types = await memory.list_events("alice", types=["task.done", "agent.run"])
    assert len(two_types) == 3
    window = await memory.list_events("alice", since=NOW - timedelta(hours=20), until=NOW - timedelta(hours=10))
    assert [e.summary for e in window] == ["plan.created 20h ago"]  # since inclusive, until exclusive
    assert [e.summary for e in await memory.list_events("alice", limit=1)] == ["agent.run 1h ago"]


async def test_types_may_be_comma_separated_in_the_query(memory: MemoryGatewayClient, http: httpx.AsyncClient) -> None:
    for event_type in ["a.one", "b.two", "c.three"]:
        await memory.log_event(_event(event_type))
    response = await http.get("/v1/events", params={"user_id": "alice", "types": "a.one,c.three"})
    assert sorted(e["event_type"] for e in response.json()["events"]) == ["a.one", "c.three"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/events", {"user_id": "alice", "event_type": "Task Done"}, "body.event_type"),
        ("/v1/events", {"user_id": "alice", "event_type": "x" * 101}, "body.event_type"),
        ("/v1/events", {"user_id": "alice", "event_type": "t", "summary": "s" * 8001}, "body.summary"),
        ("/v1/events", {"user_id": "alice", "event_type": "t", "payload": [1]}, "body.payload"),
        (
            "/v1/events",
            {"user_id": "alice", "event_type": "t", "occurred_at": "2026-01-01T00:00:00"},
            "body.occurred_at",
        ),
        ("/v1/events", {"user_id": "alice", "event_type": "t", "colour": "red"}, "body.colour"),
        ("/v1/events", {"user_id": "a b", "event_type": "t"}, "body.user_id"),
        ("/v1/events/batch", {"user_id": "alice", "events": []}, "body.events"),
        ("/v1/events/batch", {"user_id": "alice", "events": [{"event_type": "t"}] * 101}, "body.events"),
    ],
)
async def test_invalid_events_are_422_naming_the_field(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = await http.post(path, json=body)
    assert response.status_code == 422, response.text
    assert any(d["field"].startswith(field) for d in response.json()["error"]["details"])


async def test_an_event_far_in_the_future_or_an_oversized_payload_is_refused(http: httpx.AsyncClient) -> None:
    future = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    response = await http.post("/v1/events", json={"user_id": "alice", "event_type": "t", "occurred_at": future})
    assert response.status_code == 422
    assert "5 minutes in the future" in response.json()["error"]["message"]
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    response = await http.post("/v1/events", json={"user_id": "alice", "event_type": "t", "occurred_at": soon})
    assert response.status_code == 201  # within the allowed clock skew

    payload = {"blob": "x" * MAX_PAYLOAD_BYTES}
    response = await http.post("/v1/events", json={"user_id": "alice", "event_type": "t", "payload": payload})
    assert response.status_code == 422
    assert str(MAX_PAYLOAD_BYTES) in response.json()["error"]["message"]


async def test_list_parameters_are_validated(http: httpx.AsyncClient) -> None:
    for params in [
        {"user_id": "alice", "limit": "101"},
        {"user_id": "alice", "types": "Bad Type"},
        {"user_id": "alice", "since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"types": "a"},
    ]:
        response = await http.get("/v1/events", params=params)
        assert response.status_code == 422, (params, response.text)


async def test_an_unknown_event_is_404(memory: MemoryGatewayClient, http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/events/00000000-0000-4000-8000-000000000000", params={"user_id": "alice"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (await http.get("/v1/events/not-a-uuid", params={"user_id": "alice"})).status_code == 404  # no route
    batch = await http.get("/v1/events/batch", params={"user_id": "alice"})
    assert (batch.status_code, batch.headers["allow"]) == (405, "OPTIONS, POST")
