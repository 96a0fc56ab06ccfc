"""recall scores every candidate with both retrievers, also those only one of them returned."""

from __future__ import annotations

import pytest

from memory_gateway.settings import MemorySettings, Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MemoryItem

USER = "alice"
CANDIDATES = 10


@pytest.fixture
def gateway_settings(gateway_settings: Settings) -> Settings:
    """The gateway of conftest.py, with as few candidates per retriever as allowed, so that the two lists
    (each cut at 10 of 30 matching memories) cannot be the same."""
    memory = MemorySettings(**{**gateway_settings.memory.model_dump(), "candidates": CANDIDATES})
    return gateway_settings.model_copy(update={"memory": memory})


async def test_a_candidate_one_retriever_missed_still_gets_its_score(memory: MemoryGatewayClient) -> None:
    items = [
        MemoryItem(text=f"Budget review {n}: the {w} budget for quarter {n}", kind="fact")
        for n, w in enumerate(["travel", "hiring", "tools"] * 5)
    ]
    items += [
        MemoryItem(text=f"Team lunch {n} at the {w} place near the office", kind="fact")
        for n, w in enumerate(["budget", "noodle", "pizza"] * 5)
    ]
    await memory.remember_batch(USER, items)
    result = await memory.recall(USER, "budget lunch", limit=2 * CANDIDATES, use_cache=False)
    hits = result.hits
    assert len(hits) > CANDIDATES  # both lists contributed, so some hits are in one list only
    dense_only = [h for h in hits if h.parts.lexical_rank is None]
    lexical_only = [h for h in hits if h.parts.dense_rank is None]
    assert dense_only
    assert lexical_only
    # Every hit has both scores: the similarity of the ones the vector search did not return comes from
    # their stored vectors, the lexical score of the others from their words.
    assert all(h.parts.dense_similarity is not None and h.parts.lexical_score is not None for h in hits)
    assert all(0.0 < h.parts.dense_similarity < max(x.parts.dense_similarity for x in hits) for h in lexical_only)


async def test_a_shorter_list_is_the_start_of_a_longer_one(memory: MemoryGatewayClient) -> None:
    """Candidates the vector search left out get their cosine only when it could lift them into the answer;
    skipping it must never change what comes first. Here the best answer is such a candidate: twelve
    shorter memories are closer to the query's vector, but it alone holds the rare word ("VAT")."""
    target = "Quarterly VAT is filed by Priya at Raman and Co"
    items = [MemoryItem(text=target, kind="fact")]
    items += [MemoryItem(text=f"Quarterly returns of project {n}", kind="fact") for n in range(12)]
    items += [MemoryItem(text=f"Gym session number {n} on a Monday", kind="fact") for n in range(10)]
    await memory.remember_batch(USER, items)
    short = await memory.recall(USER, "quarterly vat returns", limit=3, use_cache=False)
    top = short.hits[0]
    assert (top.memory.text, top.parts.dense_rank, top.parts.lexical_rank) == (target, None, 1)
    assert top.parts.dense_similarity is not None
    assert top.parts.dense_similarity > 0
    for query in ("quarterly vat returns", "returns of project 3", "gym on monday", "priya"):
        short = await memory.recall(USER, query, limit=3, use_cache=False)
        long = await memory.recall(USER, query, limit=30, use_cache=False)
        assert [h.memory.id for h in short.hits] == [h.memory.id for h in long.hits[:3]], query
        # The same scores, up to recency (a few milliseconds older in the second call).
        assert [h.score for h in short.hits] == pytest.approx([h.score for h in long.hits[:3]], rel=1e-6), query
