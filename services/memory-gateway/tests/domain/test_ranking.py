"""The ranking functions on their own: fusion, weights, and MMR's choices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memory_gateway.domain.ranking import importance_weight, mmr, recency_weight, rrf_fuse


def test_rrf_rewards_agreement_between_retrievers() -> None:
    fused = rrf_fuse([("a", 0.9), ("b", 0.8)], [("b", 3.0), ("c", 2.0)], k=60)
    assert fused["b"].rrf == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"].rrf == pytest.approx(1 / 61)
    assert (fused["c"].dense_rank, fused["c"].lexical_rank) == (None, 2)
    assert max(fused, key=lambda key: fused[key].rrf) == "b"


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
