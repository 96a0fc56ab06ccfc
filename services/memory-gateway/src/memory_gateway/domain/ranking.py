"""Hybrid ranking, pure functions: reciprocal rank fusion, recency and importance weights, MMR.

Shared by every hybrid search of the gateway (memories, documents, events), so they rank alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Fused:
    """A candidate's ranks and raw scores in each retriever, and its fused score."""

    dense_rank: int | None
    dense_similarity: float | None
    lexical_rank: int | None
    lexical_score: float | None
    rrf: float


def rrf_fuse(dense: Sequence[tuple[K, float]], lexical: Sequence[tuple[K, float]], *, k: int = 60) -> dict[K, Fused]:
    """Fuse two best-first rankings: each item scores the sum of 1 / (k + rank) over the lists it is in.

    RRF needs no score calibration between retrievers (cosine similarity and ts_rank are not comparable),
    and an item found by both outranks one found by either alone.
    """
    dense_pos = {key: (rank, score) for rank, (key, score) in enumerate(dense, start=1)}
    lexical_pos = {key: (rank, score) for rank, (key, score) in enumerate(lexical, start=1)}
    fused: dict[K, Fused] = {}
    for key in dense_pos.keys() | lexical_pos.keys():
        d_rank, d_score = dense_pos.get(key, (None, None))
        l_rank, l_score = lexical_pos.get(key, (None, None))
        rrf = sum(1.0 / (k + rank) for rank in (d_rank, l_rank) if rank is not None)
        fused[key] = Fused(d_rank, d_score, l_rank, l_score, rrf)
    return fused


def recency_weight(created_at: datetime, now: datetime, *, half_life_days: float, floor: float) -> float:
    """A multiplier in [floor, 1] that halves (above the floor) every `half_life_days`."""
    age_days = max((now - created_at).total_seconds(), 0.0) / 86_400
    return floor + (1.0 - floor) * math.pow(0.5, age_days / half_life_days)


def importance_weight(importance: float, *, weight: float) -> float:
    """(1 - weight) + weight x importance: weight 0 ignores importance, 1 makes it proportional."""
    return (1.0 - weight) + weight * importance


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def mmr(
    candidates: Sequence[K],
    *,
    relevance: Callable[[K], float],
    vector: Callable[[K], Sequence[float] | None],
    limit: int,
    lambda_: float,
) -> list[K]:
    """Maximal marginal relevance: pick greedily by lambda x relevance - (1 - lambda) x max similarity
    to what is already picked, so near-copies of a top hit give way to different relevant ones.

    Relevance is rescaled to [0, 1] so it is comparable with cosine similarity. Candidates without a
    vector are treated as unlike everything. One similarity matrix and a running maximum per candidate
    keep it at O(n^2) numpy work instead of O(limit x n x picked) Python loops.
    """
    if not candidates:
        return []
    relevances = np.array([relevance(c) for c in candidates], dtype=np.float64)
    relevances /= relevances.max() or 1.0
    similarity = _similarity_matrix([vector(c) for c in candidates])
    closest = np.zeros(len(candidates))
    picked: list[int] = []
    available = np.ones(len(candidates), dtype=bool)
    for _ in range(min(limit, len(candidates))):
        scores = np.where(available, lambda_ * relevances - (1.0 - lambda_) * closest, -np.inf)
        best = int(np.argmax(scores))
        picked.append(best)
        available[best] = False
        closest = np.maximum(closest, similarity[best])
    return [candidates[i] for i in picked]


def _similarity_matrix(vectors: Sequence[Sequence[float] | None]) -> npt.NDArray[np.float64]:
    """Pairwise cosine similarity; rows of candidates without a vector are all zero."""
    width = next((len(v) for v in vectors if v is not None), 1)
    matrix = np.array([v if v is not None else [0.0] * width for v in vectors], dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    result: npt.NDArray[np.float64] = matrix @ matrix.T
    return result
