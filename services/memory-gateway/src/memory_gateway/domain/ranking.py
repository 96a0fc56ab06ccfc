"""Hybrid ranking, pure functions: score fusion, reciprocal rank fusion, recency and importance weights, MMR.

Memories are ranked by score fusion (`score_fuse`) over IDF-weighted lexical scores; documents and events
still by reciprocal rank fusion (`rrf_fuse`). Recency, importance and MMR are shared by all three.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
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


@dataclass(frozen=True)
class Relevance:
    """A candidate's place in each retriever's list, both retrievers' scores, and their fusion.

    Ranks are None for a retriever that did not return the candidate; the scores are known for every
    candidate all the same (`dense_similarity` is None only when the candidate has no vector yet).
    """

    dense_rank: int | None
    dense_similarity: float | None
    lexical_rank: int | None
    lexical_score: float
    fused: float


def lexical_overlap(lexemes: Collection[str], weights: Mapping[str, float]) -> float:
    """The summed weight (idf) of the query's lexemes that a text contains: the full-text search's score."""
    return sum(weight for lexeme, weight in weights.items() if lexeme in lexemes)


def score_fuse(
    dense: Sequence[tuple[K, float]],
    lexical: Sequence[tuple[K, float]],
    *,
    similarity: Mapping[K, float | None],
    overlap: Mapping[K, float],
    dense_weight: float,
) -> dict[K, Relevance]:
    """Fuse scores, not ranks, over the candidates of `overlap` (all of them, whichever list found them).

    Each retriever's score is divided by its best among the candidates (cosine below 0 counts as 0), and
    the two are averaged with `dense_weight`. Scores are needed for every candidate, not only for those a
    retriever returned: a candidate just past one retriever's cut-off would otherwise count as 0 there.

    Why not RRF: when a store holds dozens of memories that match the query about equally well, ranks turn
    hair-thin score differences into gaps of 1/(k + 1) vs 1/(k + 40), wider than any importance or recency
    weight, and agreement between the two lists outweighs one retriever's clear winner. Scores keep near
    ties near, so importance and recency can decide between them, and a clear winner stays one.
    """
    dense_pos = {key: rank for rank, (key, _) in enumerate(dense, start=1)}
    lexical_pos = {key: rank for rank, (key, _) in enumerate(lexical, start=1)}
    best_dense = max((max(s, 0.0) for s in similarity.values() if s is not None), default=0.0)
    best_lexical = max(overlap.values(), default=0.0)
    fused: dict[K, Relevance] = {}
    for key, lexical_score in overlap.items():
        dense_score = similarity.get(key)
        relevance = dense_weight * _share(dense_score or 0.0, best_dense)
        relevance += (1.0 - dense_weight) * _share(lexical_score, best_lexical)
        fused[key] = Relevance(dense_pos.get(key), dense_score, lexical_pos.get(key), lexical_score, relevance)
    return fused


def worth_completing(exact: Sequence[float], bounds: Mapping[K, tuple[float, float]], *, keep: int) -> list[K]:
    """The candidates still lacking a score that could reach the best `keep`.

    `exact` are the final scores of fully scored candidates, `bounds` the (lowest, highest) final score each
    incomplete one can have. At least `keep` candidates score at least the `keep`-th best lower bound, so
    one whose upper bound stays below it can never make the cut: its missing score need not be computed.
    """
    lows = sorted([*exact, *(low for low, _ in bounds.values())], reverse=True)
    if len(lows) <= keep:
        return list(bounds)
    threshold = lows[keep - 1]
    return [key for key, (_, high) in bounds.items() if high >= threshold]


def _share(score: float, best: float) -> float:
    return max(score, 0.0) / best if best > 0 else 0.0


def recency_weight(created_at: datetime, now: datetime, *, half_life_days: float, floor: float) -> float:
    """A multiplier in [floor, 1] that halves (above the floor) every `half_life_days`."""
    age_days = max((now - created_at).total_seconds(), 0.0) / 86_400
    return floor + (1.0 - floor) * math.pow(0.5, age_days / half_life_days)


def importance_weight(importance: float, *, weight: float) -> float:
    """(1 - weight) + weight x importance: weight 0 ignores importance, 1 makes it proportional."""
    return (1.0 - weight) + weight * importance


def cosines(query: Sequence[float], vectors: Sequence[Sequence[float]]) -> list[float]:
    """Cosine similarity of each vector to the query (0 for a zero vector), in one matrix product."""
    if not vectors:
        return []
    matrix = np.asarray(vectors, dtype=np.float64)
    target = np.asarray(query, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(target)
    products = matrix @ target
    scores: list[float] = np.divide(products, norms, out=np.zeros_like(products), where=norms > 0).tolist()
    return scores


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
