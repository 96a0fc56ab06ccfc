"""Recall quality on a labelled set: the memories each query must find are in the top 5, and stay there as
ten thousand competing memories arrive; the dense retriever returns what an exact search would; no query
ever sees another user's memory.

- recall@5: the mean, over the queries, of the share of a query's expected memories in its top 5.
- dense recall: of the memories a brute-force search (same embedder, same user and kind filter) ranks in
  the dense retriever's candidate list, the share the gateway's dense retriever returned. It isolates the
  vector index from ranking: recall@5 also moves when new memories outrank a target on merit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import numpy as np
import numpy.typing as npt

from memory_gateway.adapters.lexical import OR_QUERY_SQL
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MAX_LIMIT, RecallFilters
from pma_core.embedders import HashingEmbedder

from .labelled_set import QUERIES, TARGETS, TOP_K, USERS, LabelledQuery, distractors, targets_of

SMALL_PER_USER = 70  # 210 distractors in all
LARGE_PER_USER = 3_400  # 10,200 distractors in all
BATCH = 100
# Measured with the hashing embedder: recall@5 = 1.000 with 210 distractors and with 10,200 (42 queries, each
# worth 0.024), and the same with distractors drawn from two other seeds. Any miss fails: the labelled
# questions all have an answer the ranking can find, at either size.
RECALL_AT_5_MIN = 1.0
RECALL_AT_5_MIN_AT_SCALE = 1.0
# Quality must not drop as the store grows. It used to (0.917 at 10,200 with rank fusion and ts_rank); see
# the docstring of `test_recall_at_5_holds_past_ten_thousand_memories` for what fixed it.
MAX_DROP_AT_SCALE = 0.0
# An approximate index may miss a few exact neighbours; an exact one misses none.
DENSE_RECALL_MIN = 0.98


@dataclass
class QualityRun:
    recall_at_5: float = 0.0
    dense_recall: float = 0.0
    misses: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    def report(self) -> str:
        return (
            f"recall@5 = {self.recall_at_5:.3f}, dense recall = {self.dense_recall:.3f}; "
            f"misses: {self.misses}; leaks: {self.leaks}"
        )


class ExactDense:
    """Brute-force dense search over what the test stored, with the gateway's own embedder and filters."""

    def __init__(self, embedder: HashingEmbedder, *, per_user: int, candidates: int) -> None:
        self.embedder = embedder
        self.candidates = candidates
        self.texts: dict[str, list[str]] = {}
        self.kinds: dict[str, npt.NDArray[np.str_]] = {}
        self.vectors: dict[str, npt.NDArray[np.float32]] = {}
        for user in USERS:
            items = [t.item() for t in targets_of(user)] + distractors(user, per_user)
            self.texts[user] = [item.text for item in items]
            self.kinds[user] = np.array([item.kind for item in items])
            self.vectors[user] = embedder.vectorize(self.texts[user])

    def must_find(self, query: LabelledQuery) -> set[str]:
        """The texts strictly inside the exact top `candidates` (ties at the cut-off may go either way)."""
        (vector,) = self.embedder.vectorize([query.text])
        scores = self.vectors[query.user] @ vector
        if query.kinds:
            scores = np.where(np.isin(self.kinds[query.user], query.kinds), scores, -np.inf)
        ranked = np.sort(scores)[::-1]
        if len(ranked) <= self.candidates or not np.isfinite(ranked[self.candidates]):
            cut = -np.inf
        else:
            cut = float(ranked[self.candidates]) + 1e-6
        return {self.texts[query.user][i] for i in np.flatnonzero(scores > cut)}


async def _remember_targets(memory: MemoryGatewayClient) -> dict[UUID, str]:
    """Store every target; returns the label of each stored id."""
    labels: dict[UUID, str] = {}
    for user in USERS:
        targets = targets_of(user)
        result = await memory.remember_batch(user, [t.item() for t in targets])
        assert [r.outcome for r in result.results] == ["created"] * len(targets)
        labels.update({r.memory.id: t.label for r, t in zip(result.results, targets, strict=True)})
    return labels


async def _remember_distractors(memory: MemoryGatewayClient, *, start: int, stop: int) -> None:
    """Distractors [start, stop) of every user, in batches of 100, the users concurrently.

    The lists are generated in a thread, before the first call: the gateway serves on this test's event
    loop, and generating 3,400 distractors held it for about half a second; with a user's batch in flight,
    that time counted against its statements' timeout (a 503 on a busy CI machine).
    """
    items_of = await asyncio.to_thread(lambda: {user: distractors(user, stop)[start:] for user in USERS})

    async def one_user(user: str) -> None:
        items = items_of[user]
        for first in range(0, len(items), BATCH):
            result = await memory.remember_batch(user, items[first : first + BATCH])
            outcomes = {r.outcome for r in result.results}
            assert outcomes == {"created"}, f"a distractor merged into an earlier memory: {outcomes}"

    await asyncio.gather(*(one_user(user) for user in USERS))


async def _measure(memory: MemoryGatewayClient, labels: dict[UUID, str], exact: ExactDense) -> QualityRun:
    run = QualityRun()
    found_share = 0.0
    required = returned = 0
    for query in QUERIES:
        filters = RecallFilters(kinds=list(query.kinds)) if query.kinds else None
        # Every candidate of both retrievers fits in MAX_LIMIT hits; the top 5 are the same as with limit=5.
        result = await memory.recall(query.user, query.text, limit=MAX_LIMIT, filters=filters, use_cache=False)
        top = result.hits[:TOP_K]
        found = {labels[hit.memory.id] for hit in top if hit.memory.id in labels}
        found_share += len(found & set(query.expected)) / len(query.expected)
        if missing := set(query.expected) - found:
            run.misses.append(f"{query.text!r} missed {sorted(missing)}")
        leaked = [hit.memory.user_id for hit in result.hits if hit.memory.user_id != query.user]
        leaked += sorted(found & set(query.foreign))
        if leaked:
            run.leaks.append(f"{query.text!r} ({query.user}) got {leaked}")
        must = exact.must_find(query)
        dense = {hit.memory.text for hit in result.hits if hit.parts.dense_rank is not None}
        required += len(must)
        returned += len(must & dense)
    run.recall_at_5 = found_share / len(QUERIES)
    run.dense_recall = returned / required
    return run


def _check(run: QualityRun, *, scale: str, minimum: float) -> None:
    assert not run.leaks, f"{scale}: another user's memory came back: {run.leaks}"
    assert run.dense_recall >= DENSE_RECALL_MIN, f"{scale}: the vector index lost neighbours; {run.report()}"
    assert run.recall_at_5 >= minimum, f"{scale}: {run.report()} (minimum {minimum})"


def _exact(settings: Settings, *, per_user: int) -> ExactDense:
    embedder = HashingEmbedder(settings.embedding.hashing_dimensions)
    return ExactDense(embedder, per_user=per_user, candidates=settings.memory.candidates)


async def test_the_labelled_set_is_consistent(postgres_url: str) -> None:
    labels = [t.label for t in TARGETS]
    assert len(labels) == len(set(labels)) >= 60
    assert len(QUERIES) >= 40
    owner = {t.label: t.user for t in TARGETS}
    for query in QUERIES:
        assert {owner[label] for label in query.expected} == {query.user}, query.text
        assert all(owner[label] != query.user for label in query.foreign), query.text
    assert distractors(USERS[0], SMALL_PER_USER) == distractors(USERS[0], LARGE_PER_USER)[:SMALL_PER_USER]
    # The retrievers are lexical: a query must share a stemmed word with each memory it expects.
    text = {t.label: t.text for t in TARGETS}
    conn = await asyncpg.connect(postgres_url)
    try:
        for query in QUERIES:
            for label in query.expected:
                shares = await conn.fetchval(
                    f"SELECT to_tsvector('english', $1) @@ {OR_QUERY_SQL}", text[label], query.text
                )
                assert shares, f"{query.text!r} shares no word stem with {label}"
    finally:
        await conn.close()


async def test_recall_at_5_on_a_small_store(memory: MemoryGatewayClient, gateway_settings: Settings) -> None:
    labels = await _remember_targets(memory)
    await _remember_distractors(memory, start=0, stop=SMALL_PER_USER)
    run = await _measure(memory, labels, _exact(gateway_settings, per_user=SMALL_PER_USER))
    _check(run, scale=f"targets + {SMALL_PER_USER * len(USERS)} distractors", minimum=RECALL_AT_5_MIN)


async def test_recall_at_5_holds_past_ten_thousand_memories(
    memory: MemoryGatewayClient, gateway_settings: Settings
) -> None:
    """The same queries before and after the store grows fifty-fold, in one gateway.

    What used to make recall@5 drop from 1.000 to 0.917 here (the dense retriever lost nothing, then as now):
    - Postgres full-text ranking has no IDF: a match on a word a hundred distractors share ("drawing")
      scored like one on the rare word of the question ("illustrations"), ties went to the newest rows,
      and an older target fell out of the 50 lexical candidates. The lexical score is now the summed idf
      of the shared words, from the user's own store;
    - reciprocal rank fusion turned near ties into wide gaps: among fifty memories that match "deep work"
      about equally, rank 3 vs rank 48 outweighed any importance weight, and agreement of both lists
      beat one retriever's clear winner. Recall now fuses scores, each scaled by the best candidate's;
    - a candidate only one retriever returned counted as 0 in the other, though it sat just past that
      list's cut-off; both scores are now computed for every candidate.
    """
    # The exact searches embed every stored text (about a second at scale): in a thread, so the gateway's
    # own loop (this test's) keeps serving its background work meanwhile.
    exact_small, exact_large = await asyncio.gather(
        asyncio.to_thread(_exact, gateway_settings, per_user=SMALL_PER_USER),
        asyncio.to_thread(_exact, gateway_settings, per_user=LARGE_PER_USER),
    )
    labels = await _remember_targets(memory)
    await _remember_distractors(memory, start=0, stop=SMALL_PER_USER)
    small = await _measure(memory, labels, exact_small)
    started = time.perf_counter()
    await _remember_distractors(memory, start=SMALL_PER_USER, stop=LARGE_PER_USER)
    load_seconds = time.perf_counter() - started
    large = await _measure(memory, labels, exact_large)
    scale = f"targets + {LARGE_PER_USER * len(USERS):,} distractors (loaded in {load_seconds:.1f}s)"
    _check(small, scale="the same store before it grew", minimum=RECALL_AT_5_MIN)
    _check(large, scale=scale, minimum=RECALL_AT_5_MIN_AT_SCALE)
    assert large.recall_at_5 >= small.recall_at_5 - MAX_DROP_AT_SCALE, (
        f"{scale}: recall@5 fell from {small.recall_at_5:.3f} to {large.recall_at_5:.3f}; {large.report()}"
    )
