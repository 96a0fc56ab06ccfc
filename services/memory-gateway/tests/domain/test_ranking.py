"""The ranking functions on their own: fusion, weights, and MMR's choices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memory_gateway.domain.ranking import (
    cosines,
    importance_weight,
    lexical_overlap,
    mmr,
    recency_weight,
    rrf_fuse,
    score_fuse,
    worth_completing,
)


def test_rrf_rewards_agreement_between_retrievers() -> None:
    fused = rrf_fuse([("a", 0.9), ("b", 0.8)], [("b", 3.0), ("c", 2.0)], k=60)
    assert fused["b"].rrf == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"].rrf == pytest.approx(1 / 61)
    assert (fused["c"].dense_rank, fused["c"].lexical_rank) == (None, 2)
    assert max(fused, key=lambda key: fused[key].rrf) == "b"


def test_score_fusion_scales_each_retriever_by_its_best_candidate() -> None:
    fused = score_fuse(
        [("a", 0.8), ("b", 0.4)],
        [("c", 6.0), ("b", 3.0)],
        similarity={"a": 0.8, "b": 0.4, "c": 0.2},
        overlap={"a": 0.0, "b": 3.0, "c": 6.0},
        dense_weight=0.5,
    )
    assert fused["a"].fused == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert fused["b"].fused == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)
    assert fused["c"].fused == pytest.approx(0.5 * 0.25 + 0.5 * 1.0)
    # Ranks say which list returned what; scores are known for every candidate.
    assert (fused["c"].dense_rank, fused["c"].dense_similarity, fused["c"].lexical_rank) == (None, 0.2, 1)
    assert (fused["a"].lexical_rank, fused["a"].lexical_score) == (None, 0.0)


def test_score_fusion_keeps_near_ties_near_where_rank_fusion_spreads_them() -> None:
    """Forty candidates a hair apart, and one as good in words and far better in meaning, which only the
    dense list returned (the lexical list was cut off before it)."""
    near = [(f"n{i}", 0.50 - i * 0.001) for i in range(40)]
    dense = [("clear", 0.9), *near]
    lexical = list(reversed(near))
    similarity = dict(dense)
    overlap = dict.fromkeys(similarity, 1.0)
    fused = score_fuse(dense, lexical, similarity=similarity, overlap=overlap, dense_weight=0.5)
    spread = [fused[key].fused for key, _ in near]
    assert max(spread) - min(spread) < 0.05  # 0.500 vs 0.461 in one list stays a small difference
    assert max(fused, key=lambda key: fused[key].fused) == "clear"
    by_rank = rrf_fuse(dense, lexical, k=60)
    # RRF ranks "clear" below all forty, for being in one list only.
    assert all(by_rank["clear"].rrf < by_rank[key].rrf for key, _ in near)


def test_score_fusion_without_a_dense_score() -> None:
    """No vector (not indexed yet, or Qdrant down), negative cosine, no shared word: each counts as 0."""
    fused = score_fuse(
        [],
        [("a", 2.0)],
        similarity={"a": None, "b": -0.3},
        overlap={"a": 2.0, "b": 0.0},
        dense_weight=0.5,
    )
    assert fused["a"].fused == pytest.approx(0.5)
    assert fused["b"].fused == 0.0
    assert score_fuse([], [], similarity={}, overlap={}, dense_weight=0.5) == {}


def test_only_candidates_that_could_make_the_cut_are_completed() -> None:
    exact = [0.9, 0.8, 0.3]
    bounds = {"hopeless": (0.1, 0.5), "borderline": (0.2, 0.8), "strong": (0.85, 0.95)}
    # The 2nd best lower bound is 0.85 ("strong" is certain to beat 0.8): only what can reach it counts.
    assert worth_completing(exact, bounds, keep=2) == ["strong"]
    assert worth_completing(exact, bounds, keep=3) == ["borderline", "strong"]  # the cut is 0.8 (inclusive)
    assert worth_completing(exact, bounds, keep=10) == ["hopeless", "borderline", "strong"]  # all fit
    assert worth_completing([], {}, keep=5) == []


def test_lexical_overlap_sums_the_weights_of_shared_words() -> None:
    weights = {"illustr": 7.0, "draw": 3.5, "app": 5.0}
    assert lexical_overlap(frozenset({"illustr", "procreat", "ipad"}), weights) == 7.0
    assert lexical_overlap(frozenset({"draw", "app"}), weights) == 8.5
    assert lexical_overlap(frozenset({"coffe"}), weights) == 0.0


def test_cosines() -> None:
    assert cosines([1.0, 0.0], [[2.0, 0.0], [0.0, 3.0], [1.0, 1.0], [0.0, 0.0]]) == pytest.approx(
        [1.0, 0.0, 2**-0.5, 0.0]
    )
    assert cosines([1.0, 0.0], []) == []


def test_recency_halves_above_the_floor() -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert recency_weight(now, now, half_life_days=30, floor=0.5) == pytest.approx(1.0)
    assert recency_weight(now - timedelta(days=30), now, half_life_days=30, floor=0.5) == pytest.approx(0.75)
    assert recency_weight(now - timedelta(days=3000), now, half_life_days=30, floor=0.5) == pytest.approx(0.5)


def test_importance_weight() -> None:
    assert importance_weight(1.0, weight=0.5) == pytest.approx(1.0)
    assert importance_weight(0.0, weight=0.5) == pytest.approx(0.5)


def test_mmr_prefers_a_different_hit_over_a_near_copy() -> None:
    vectors = {"top": [1.0, 0.0], "copy": [0.99, 0.01], "other": [0.0, 1.0], "novector": None}
    relevance = {"top": 1.0, "copy": 0.95, "other": 0.6, "novector": 0.1}
    order = list(vectors)

    def pick(lambda_: float, limit: int) -> list[str]:
        return mmr(order, relevance=relevance.__getitem__, vector=vectors.__getitem__, limit=limit, lambda_=lambda_)

    assert pick(1.0, 2) == ["top", "copy"]  # relevance only
    assert pick(0.5, 2) == ["top", "other"]  # the near-copy gives way
    assert pick(0.5, 10) == ["top", "other", "novector", "copy"]  # every candidate once
    assert mmr([], relevance=relevance.__getitem__, vector=vectors.__getitem__, limit=3, lambda_=0.5) == []
