"""Matching a new intent against the user's SOP library: embedding similarity plus word overlap.

score = DENSE_WEIGHT * cosine(intent, sop) + (1 - DENSE_WEIGHT) * overlap, where overlap is the share
of the intent's content words found in the SOP's title, intent, summary or step titles. The best SOP
above the threshold (settings) is adapted instead of planning from scratch. Both parts are needed: an
embedding alone confuses "launch the newsletter" with "cancel the newsletter"; words alone miss
paraphrases.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from pma_core.contracts.library import SopRead, SopStep

T = TypeVar("T")

DENSE_WEIGHT = 0.6
# Numbers, optionally after a short prefix or before an ordinal suffix: q1, v2, fy2025, 2025, 3rd.
_IDENTIFIER = re.compile(r"[a-z]{0,2}[0-9]+(?:st|nd|rd|th)?")
_STOP = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "for",
        "from",
        "get",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "our",
        "my",
        "the",
        "their",
        "this",
        "to",
        "up",
        "with",
        "before",
        "until",
        "due",
        "next",
        "week",
        "today",
        "tomorrow",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "",
    )
)


@dataclass(frozen=True, slots=True)
class SopMatch(Generic[T]):
    sop: T
    score: float
    dense: float
    overlap: float


def content_words(text: str) -> set[str]:
    """Lowercased words minus stop words and instance identifiers, with a crude plural fold so 'newsletters'
    meets 'newsletter'. An identifier (Q2, v3, 2025, 3rd) says which one, not what kind of work: the Q2
    newsletter is launched the way the Q1 newsletter was."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {
        w[:-1] if len(w) > 3 and w.endswith("s") else w
        for w in words
        if w not in _STOP and not _IDENTIFIER.fullmatch(w)
    }


def embedding_text(*, title: str, intent: str, summary: str, steps: Sequence[SopStep]) -> str:
    """What an SOP is embedded and matched by."""
    return f"{title}. {intent}. {summary}. {' '.join(step.title for step in steps)}"


def sop_text(sop: SopRead) -> str:
    return embedding_text(title=sop.title, intent=sop.intent, summary=sop.summary, steps=sop.steps)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


def word_overlap(wanted: set[str], text: str) -> float:
    """The share of the intent's content words (`wanted`) found in an SOP's text."""
    return len(wanted & content_words(text)) / len(wanted) if wanted else 0.0


def overlap(intent: str, sop: SopRead) -> float:
    return word_overlap(content_words(intent), sop_text(sop))


def _dense(intent_vector: Sequence[float], vectors: Sequence[Sequence[float]]) -> list[float]:
    """Cosine of each vector with the intent's, clipped at 0; a vector of another size counts as 0."""
    query = np.asarray(intent_vector, dtype=np.float32)
    query_norm = float(np.linalg.norm(query))
    scores = [0.0] * len(vectors)
    same = [i for i, vector in enumerate(vectors) if len(vector) == len(query)]
    if same and query_norm:
        matrix = np.asarray([vectors[i] for i in same], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * query_norm
        cosines = np.divide(matrix @ query, norms, out=np.zeros(len(same), dtype=np.float32), where=norms > 0)
        for i, value in zip(same, cosines.tolist(), strict=True):
            scores[i] = max(0.0, value)
    return scores


def best_match(
    intent: str,
    intent_vector: Sequence[float],
    candidates: Sequence[tuple[T, str, Sequence[float]]],
    *,
    threshold: float,
) -> SopMatch[T] | None:
    """The best-scoring candidate (item, its SOP text, its vector) at or above the threshold; ties go to the
    earlier candidate (the newer SOP)."""
    wanted = content_words(intent)
    dense = _dense(intent_vector, [vector for _, _, vector in candidates])
    best: SopMatch[T] | None = None
    for (item, text, _), similarity in zip(candidates, dense, strict=True):
        words = word_overlap(wanted, text)
        score = DENSE_WEIGHT * similarity + (1 - DENSE_WEIGHT) * words
        if score >= threshold and (best is None or score > best.score):
            best = SopMatch(sop=item, score=score, dense=similarity, overlap=words)
    return best
