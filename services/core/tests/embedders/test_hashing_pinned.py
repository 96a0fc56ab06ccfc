"""The hashing embedder's exact vectors, pinned: stored vectors are only comparable with new ones while
these stay the same.

The literals were computed once from the code (`HASHING_VERSION = "v1"`). Any change to tokenising,
hashing, the features or their weights fails here. Such a change must bump `HASHING_VERSION` (and with
it `HashingEmbedder.identity`), so that the memory-gateway refuses its old collections and asks for
`pma reindex --recreate`; then recompute these literals.
"""

from __future__ import annotations

import math

import pytest

from pma_core.embedders import HashingEmbedder
from pma_core.embedders.hashing import HASHING_VERSION

# text -> (number of non-zero components, the first 8 non-zero (index, value), the sum of all components)
PINNED_384: dict[str, tuple[int, list[tuple[int, float]], float]] = {
    "Reschedule the dentist appointment to Friday": (
        44,
        [(30, 0.123647), (31, -0.211375), (43, -0.123647), (51, 0.123647), (76, -0.279423), (90, -0.123647),
         (95, -0.211375), (105, 0.123647)],
        -1.830885,
    ),
    # Non-ASCII words: lower-casing and `\w+` are Unicode-aware, the hash is over UTF-8.
    "Café crème à Zürich: naïve façade": (
        38,
        [(16, -0.130027), (26, 0.130027), (40, -0.130027), (46, -0.130027), (53, -0.222283), (56, 0.130027),
         (59, 0.130027), (64, -0.222283)],
        -0.721334,
    ),
    # No word at all: the fixed "empty" feature.
    "   \t\n": (
        7,
        [(37, -0.572309), (53, -0.334779), (85, -0.334779), (128, 0.334779), (353, 0.334779), (362, -0.334779),
         (367, -0.334779)],
        -1.241867,
    ),
    # A repeated word: the sublinear weighting (and the bigram "plan plan").
    "plan plan plan": (
        6,
        [(171, 0.359756), (255, -0.544289), (296, -0.359756), (314, -0.431339), (348, -0.359756), (366, 0.359756)],
        -0.975628,
    ),
}  # fmt: skip

# A small size, pinned whole: every bucket (the modulo of the hash) is visible.
PINNED_16 = [
    -0.220949, 0.0, -0.399333, -0.220949, 0.129247, -0.220949, -0.350195, 0.0,
    -0.129247, 0.399333, -0.292078, 0.0, -0.292078, 0.0, 0.292078, -0.350195,
]  # fmt: skip


def test_the_identity_names_the_algorithm_version_and_the_size() -> None:
    assert HASHING_VERSION == "v1"
    assert HashingEmbedder(384).identity == "hashing-v1:384"
    assert HashingEmbedder(64).identity == "hashing-v1:64"


@pytest.mark.parametrize("text", list(PINNED_384))
async def test_the_vectors_of_fixed_texts_are_pinned(text: str) -> None:
    [vector] = await HashingEmbedder(384).embed([text])
    non_zero = [(index, round(value, 6)) for index, value in enumerate(vector) if value != 0]
    count, first, total = PINNED_384[text]
    assert len(vector) == 384
    assert len(non_zero) == count
    assert non_zero[:8] == first
    assert round(math.fsum(vector), 6) == total
    assert math.sqrt(math.fsum(value * value for value in vector)) == pytest.approx(1.0, abs=1e-6)


async def test_a_whole_small_vector_is_pinned() -> None:
    [vector] = await HashingEmbedder(16).embed(["Reschedule the dentist appointment to Friday"])
    assert [round(value, 6) for value in vector] == PINNED_16


async def test_the_empty_string_embeds_as_whitespace_does() -> None:
    empty, blank = await HashingEmbedder(384).embed(["", "   \t\n"])
    assert empty == blank
