"""similar_events over real HTTP, real Postgres full-text search and embedded Qdrant (hashing embedder)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from memory_gateway.settings import MemorySettings, Settings
from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.events import EventCreate, EventRead, SimilarEventsRequest

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        yield client


@pytest.fixture
async def history(memory: MemoryGatewayClient) -> dict[str, EventRead]:
    """Alice's events: two newsletter deploy failures, and unrelated ones."""
    events = {
        "deploy": ("agent.run", 2, "newsletter pipeline", "Deploy of the newsletter pipeline failed: SMTP timeout"),
        "redeploy": ("agent.run", 1, "newsletter pipeline", "Newsletter pipeline deploy failed again, SMTP timeout"),
        "groceries": ("task.done", 1, "groceries", "Bought groceries and cooked dinner for the family"),
        "taxes": ("task.done", 3, "quarterly taxes", "Filed the quarterly tax report with the accountant"),
        "old_deploy": ("agent.run", 72, "newsletter pipeline", "Newsletter pipeline deploy failed, SMTP timeout"),
    }
    stored: dict[str, EventRead] = {}
    for name, (event_type, hours_ago, subject, summary) in events.items():
        event = EventCreate(
            user_id="alice",
            event_type=event_type,
            subject=subject,
            summary=summary,
            occurred_at=NOW - timedelta(hours=hours_ago),
        )
        stored[name] = (await memory.log_event(event)).event
    return stored


def _names(hits: list[Any], history: dict[str, EventRead]) -> list[str]:
    by_id = {event.id: name for name, event in history.items()}
    return [by_id[hit.event.id] for hit in hits]


async def test_by_event_id_the_related_event_comes_first_and_the_source_is_left_out(
    memory: MemoryGatewayClient, history: dict[str, EventRead]
) -> None:
    found = await memory.similar_events(SimilarEventsRequest(user_id="alice", event_id=history["deploy"].id))
    names = _names(found.hits, history)
    assert names[0] == "redeploy"
    assert "deploy" not in names
    assert names.index("old_deploy") < names.index("groceries")
    top = found.hits[0].parts
    assert top.dense_rank is not None
    assert top.lexical_rank is not None  # found by both retrievers


def _recency(occurred_at: datetime, now: datetime, tuning: MemorySettings) -> float:
    """The documented weight: halves above the floor every half-life (MEMORY_RECENCY_HALF_LIFE_DAYS)."""
    age_days = (now - occurred_at).total_seconds() / 86_400
    floor = tuning.recency_floor
    return float(floor + (1 - floor) * 0.5 ** (age_days / tuning.recency_half_life_days))


async def test_the_score_is_reciprocal_rank_fusion_times_recency(
    memory: MemoryGatewayClient, gateway_settings: Settings
) -> None:
    # Ranks the test knows: the query is the zebra event's own text, so it is first in both retrievers; the
    # milk event shares no word with it (no full-text match) and, of two events, can only be second nearest.
    tuning, k = gateway_settings.memory, gateway_settings.memory.rrf_k
    zebra_at, milk_at = NOW - timedelta(hours=6), NOW - timedelta(days=10)
    for summary, occurred_at in (("zebra crossing near the school", zebra_at), ("oat milk and bananas", milk_at)):
        event = EventCreate(user_id="bob", event_type="note", summary=summary, occurred_at=occurred_at)
        await memory.log_event(event)

    before = datetime.now(UTC)
    found = await memory.similar_events(SimilarEventsRequest(user_id="bob", text="zebra crossing near the school"))
    after = datetime.now(UTC)

    zebra, milk = found.hits
    assert (zebra.event.summary, milk.event.summary) == ("zebra crossing near the school", "oat milk and bananas")
    assert (zebra.parts.dense_rank, zebra.parts.lexical_rank) == (1, 1)
    assert (milk.parts.dense_rank, milk.parts.lexical_rank) == (2, None)
    # 1 / (k + rank) summed over the lists an event is in, times its recency at the moment of the request
    # (somewhere between `before` and `after`: the weight only falls with time).
    for hit, rrf, occurred_at in ((zebra, 1 / (k + 1) + 1 / (k + 1), zebra_at), (milk, 1 / (k + 2), milk_at)):
        assert hit.parts.rrf == pytest.approx(rrf, rel=1e-9)
        oldest, newest = _recency(occurred_at, after, tuning), _recency(occurred_at, before, tuning)
        assert oldest - 1e-12 <= hit.parts.recency <= newest + 1e-12
        assert rrf * oldest - 1e-12 <= hit.score <= rrf * newest + 1e-12
        assert hit.parts.final == hit.score


async def test_by_text_finds_the_related_events_first(
    memory: MemoryGatewayClient, history: dict[str, EventRead]
) -> None:
    found = await memory.similar_events(SimilarEventsRequest(user_id="alice", text="newsletter deploy SMTP timeout"))
    names = _names(found.hits, history)
    assert names[:3] == ["redeploy", "deploy", "old_deploy"]  # equally related: the recent ones first
    assert found.took_ms >= 0


async def test_type_and_time_filters_bound_the_hits(memory: MemoryGatewayClient, history: dict[str, EventRead]) -> None:
    only_tasks = await memory.similar_events(
        SimilarEventsRequest(user_id="alice", text="newsletter deploy failed taxes", event_types=["task.done"])
    )
    assert set(_names(only_tasks.hits, history)) <= {"groceries", "taxes"}
    assert "taxes" in _names(only_tasks.hits, history)

    recent = await memory.similar_events(
        SimilarEventsRequest(user_id="alice", event_id=history["deploy"].id, occurred_after=NOW - timedelta(hours=24))
    )
    assert "old_deploy" not in _names(recent.hits, history)
    assert _names(recent.hits, history)[0] == "redeploy"

    old = await memory.similar_events(
        SimilarEventsRequest(
            user_id="alice",
            text="newsletter deploy",
            occurred_after=NOW - timedelta(hours=72),  # inclusive
            occurred_before=NOW - timedelta(hours=2),  # exclusive
        )
    )
    names = _names(old.hits, history)
    assert names[0] == "old_deploy"
    assert set(names) <= {"old_deploy", "taxes"}  # only what occurred in [72h ago, 2h ago)


async def test_limit_bounds_the_hits(memory: MemoryGatewayClient, history: dict[str, EventRead]) -> None:
    found = await memory.similar_events(SimilarEventsRequest(user_id="alice", text="newsletter deploy", limit=2))
    assert len(found.hits) == 2


async def test_a_just_logged_event_is_found_by_both_retrievers_at_once(memory: MemoryGatewayClient) -> None:
    # Indexing follows the commit within the request, so the next call already finds it in Qdrant too.
    event = (await memory.log_event(EventCreate(user_id="alice", event_type="note", summary="zebra crossing"))).event
    found = await memory.similar_events(SimilarEventsRequest(user_id="alice", text="zebra"))
    assert [hit.event.id for hit in found.hits] == [event.id]
    assert found.hits[0].parts.dense_rank == 1
    assert found.hits[0].parts.lexical_rank == 1


async def test_an_unknown_event_id_is_404(memory: MemoryGatewayClient) -> None:
    with pytest.raises(RemoteServiceError) as caught:
        await memory.similar_events(
            SimilarEventsRequest(user_id="alice", event_id=UUID("00000000-0000-4000-8000-000000000000"))
        )
    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "alice"},
        {"user_id": "alice", "text": "a", "event_id": "00000000-0000-4000-8000-000000000000"},
        {"user_id": "alice", "text": "   "},
        {"user_id": "alice", "text": "a", "limit": 101},
        {"user_id": "alice", "text": "a", "limit": 0},
        {"user_id": "alice", "text": "a", "event_types": ["Bad Type"]},
        {
            "user_id": "alice",
            "text": "a",
            "occurred_after": "2026-02-01T00:00:00Z",
            "occurred_before": "2026-01-01T00:00:00Z",
        },
    ],
)
async def test_invalid_requests_are_422(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await http.post("/v1/similar_events", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
