"""similar_days over real HTTP, Postgres full-text search and embedded Qdrant (the hashing embedder).

The expected order is computed here, from the texts, with the same offline embedder the gateway runs:
never from the scores the response gives.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.daily_threads import DailyThreadRead, SimilarDaysRead, SimilarDaysRequest
from pma_core.embedders import HashingEmbedder

from .conftest import thread, upsert_all

LAUNCH = "Launch day: shipped the newsletter redesign, fixed the SMTP timeout, celebrated with the team"
TEXTS = {
    "launch": (date(2026, 11, 27), LAUNCH),
    # The day most like the launch, half a year older than the rest: days are not weighed by age.
    "relaunch": (
        date(2026, 5, 14),
        "Another launch day: shipped the newsletter signup, fixed an SMTP timeout, team party",
    ),
    "admin": (date(2026, 11, 25), "Quiet admin day: filed taxes, paid invoices, called the accountant"),
    "family": (date(2026, 11, 26), "Family day: groceries, cooked dinner, a long walk in the park"),
    "errands": (date(2026, 11, 24), "Errands: the newsletter printer, groceries and a haircut"),
}
WEEK = thread("2026-W48|weekly", "Week of the launch: newsletter shipped, SMTP timeout fixed", kind="weekly",
              start=date(2026, 11, 23), days=7)  # fmt: skip


@pytest.fixture
async def days(memory: MemoryGatewayClient) -> dict[str, DailyThreadRead]:
    stored = await upsert_all(memory, [thread(name, text, start=day) for name, (day, text) in TEXTS.items()])
    stored[WEEK.key] = (await memory.upsert_daily_thread(WEEK)).thread
    return stored


async def _cosines(query: str, candidates: dict[str, DailyThreadRead]) -> dict[str, float]:
    """Each candidate's cosine to the query, as the gateway's embedder (hashing, 384) sees them."""
    names = list(candidates)
    [target, *vectors] = await HashingEmbedder(384).embed([query, *(candidates[n].text for n in names)])
    return {
        name: sum(a * b for a, b in zip(target, vector, strict=True))
        for name, vector in zip(names, vectors, strict=True)
    }


def _names(found: SimilarDaysRead, days: dict[str, DailyThreadRead]) -> list[str]:
    by_id = {stored.id: name for name, stored in days.items()}
    return [by_id[hit.thread.id] for hit in found.hits]


async def test_by_key_the_most_alike_day_comes_first_and_the_source_is_left_out(
    memory: MemoryGatewayClient, days: dict[str, DailyThreadRead]
) -> None:
    found = await memory.similar_days(SimilarDaysRequest(user_id="alice", key="launch", limit=10))
    names = _names(found, days)
    assert "launch" not in names

    others = {name: stored for name, stored in days.items() if name != "launch"}
    cosine = await _cosines(LAUNCH, others)
    most_alike = max(cosine, key=cosine.__getitem__)
    assert most_alike in {"relaunch", WEEK.key}  # the two that share the launch's words
    assert names[:2] == sorted(["relaunch", WEEK.key], key=lambda n: -cosine[n])
    # The days that share nothing with the launch (or only "newsletter") come after both.
    assert set(names[2:]) <= {"admin", "family", "errands"}

    # The explanation holds: each hit's dense similarity is its cosine to the source's text.
    for name, hit in zip(names, found.hits, strict=True):
        assert hit.parts.dense_similarity == pytest.approx(cosine[name], abs=1e-4)
        assert hit.parts.recency == 1.0
        assert hit.score == pytest.approx(hit.parts.rrf) == pytest.approx(hit.parts.final)
    top = found.hits[0].parts
    assert (top.dense_rank, top.lexical_rank) == (1, 1)  # found first by both retrievers


async def test_by_text_and_within_a_kind(memory: MemoryGatewayClient, days: dict[str, DailyThreadRead]) -> None:
    query = "groceries and dinner with the family"
    found = await memory.similar_days(SimilarDaysRequest(user_id="alice", text=query))
    cosine = await _cosines(query, days)
    assert _names(found, days)[0] == max(cosine, key=cosine.__getitem__) == "family"
    assert len(found.hits) == 5  # the default limit
    assert found.took_ms >= 0

    weekly = await memory.similar_days(SimilarDaysRequest(user_id="alice", text="SMTP timeout", kind="weekly"))
    assert _names(weekly, days) == [WEEK.key]
    daily = await memory.similar_days(SimilarDaysRequest(user_id="alice", key="launch", kind="daily", limit=1))
    assert _names(daily, days) == ["relaunch"]


async def test_a_thread_with_no_word_in_common_is_still_a_dense_candidate(
    memory: MemoryGatewayClient, days: dict[str, DailyThreadRead]
) -> None:
    found = await memory.similar_days(SimilarDaysRequest(user_id="alice", text="zzyzx quux", limit=20))
    # Nothing shares a word: the full-text side finds nothing, the vector side ranks every thread.
    assert {hit.parts.lexical_rank for hit in found.hits} == {None}
    assert len(found.hits) == len(days)


async def test_an_unknown_key_is_404(memory: MemoryGatewayClient) -> None:
    with pytest.raises(RemoteServiceError) as caught:
        await memory.similar_days(SimilarDaysRequest(user_id="alice", key="2026-11-30|daily"))
    assert (caught.value.status_code, caught.value.code) == (404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "alice"},
        {"user_id": "alice", "key": "launch", "text": "launch"},
        {"user_id": "alice", "text": "   "},
        {"user_id": "alice", "key": ""},
        {"user_id": "alice", "text": "a", "limit": 0},
        {"user_id": "alice", "text": "a", "limit": 21},
        {"user_id": "alice", "text": "a", "kind": "monthly"},
        {"user_id": "alice", "text": "x" * 16_001},
        {"text": "a"},
    ],
)
async def test_invalid_requests_are_422(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await http.post("/v1/similar_days", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
