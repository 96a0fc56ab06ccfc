"""An offline, deterministic embedder: signed feature hashing of words, word pairs and char 3-grams.

It needs no model and no network, so the services and their tests always have an embedder. It is
lexical only: texts come out close when they share words or pieces of words ("schedule" and
"rescheduled" share char 3-grams), never because they mean the same thing ("car" and "automobile"
are unrelated to it). Use a model-based embedder when meaning matters.

Features, all from the lower-cased text split into `\\w+` words:
- word unigrams (weight 1), adjacent word bigrams (weight 1), char 3-grams of each word padded as
  `<word>` (weight 0.5, so a long word's many 3-grams do not drown its unigram);
- words and 3-grams are hashed with blake2b (stable across processes, unlike the salted built-in
  `hash()`), bigrams by mixing their two word hashes; a hash picks a bucket and a sign, so colliding
  features tend to cancel rather than pile up;
- bucket values get a sublinear `sign(v) * log1p(|v|)`, so a repeated word counts less than twice;
- rows are L2-normalised. A text without any word maps to a fixed "empty" feature, so every vector
  is a unit vector (a zero vector would break cosine distance downstream).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from hashlib import blake2b
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

# The version of the algorithm below, part of `HashingEmbedder.identity` (`hashing-v1:384`), which the
# memory-gateway stamps on its collections. Change this whenever the vectors change (tokenising,
# hashing, features, weights, normalising): the gateway then refuses to start on the old vectors and
# asks for `pma reindex --recreate`, instead of comparing old and new vectors silently.
# tests/embedders/test_hashing_pinned.py fails on any such change until this is bumped with it.
HASHING_VERSION = "v1"

_WORD = re.compile(r"\w+")
_TRIGRAM_WEIGHT = 0.5
_EMPTY_WORD = "\x00empty"
# Memoised word slots per instance; cleared when full (words follow Zipf: a small cache hits a lot).
_CACHE_LIMIT = 200_000
# Above this many texts the work moves to a thread so the event loop keeps serving requests.
_THREAD_THRESHOLD = 256
_SIGN_BIT = 1 << 63
# splitmix64 constants: bigram hashes are mixed from the two word hashes in numpy, which is an order of
# magnitude faster than one blake2b call per bigram and just as stable.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


class _WordSlots(NamedTuple):
    hash: int
    indices: list[int]
    weights: list[float]


class _Batch:
    """Sparse features of a batch of texts, accumulated row by row before one `bincount`."""

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.weights: list[float] = []
        self.rows: list[int] = []
        self.pair_first: list[int] = []
        self.pair_second: list[int] = []
        self.pair_rows: list[int] = []


class HashingEmbedder:
    """Feature-hashing embedder; see the module docstring for what it can and cannot find."""

    def __init__(self, dimensions: int = 384) -> None:
        if dimensions < 8:
            raise ValueError("dimensions must be at least 8")
        self._dimensions = dimensions
        self._cache: dict[str, _WordSlots] = {}

    @property
    def name(self) -> str:
        """`hashing-<dimension>`: the vector space changes with the size."""
        return f"hashing-{self._dimensions}"

    @property
    def identity(self) -> str:
        """`hashing-<HASHING_VERSION>:<dimension>`, e.g. `hashing-v1:384`."""
        return f"hashing-{HASHING_VERSION}:{self._dimensions}"

    @property
    def dimension(self) -> int:
        """The configured size; known without `start()`."""
        return self._dimensions

    async def start(self) -> None:
        """Nothing to load: present for the `Embedder` protocol."""

    async def close(self) -> None:
        """Nothing to release."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order; large batches are computed in a worker thread."""
        if not texts:
            return []
        if len(texts) > _THREAD_THRESHOLD:
            matrix = await asyncio.to_thread(self.vectorize, list(texts))
        else:
            matrix = self.vectorize(texts)
        rows: list[list[float]] = matrix.tolist()
        return rows

    def vectorize(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """The embeddings as an `(len(texts), dimension)` float32 matrix (synchronous, thread-safe)."""
        batch = _Batch()
        for row, text in enumerate(texts):
            self._add_text(batch, text, row=row)
        counts = self._bucket_counts(batch, len(texts))
        matrix = np.sign(counts) * np.log1p(np.abs(counts))
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        # A text whose features cancelled out to zero still gets a (fixed) unit vector.
        zero = norms[:, 0] == 0
        if zero.any():
            matrix[zero] = self._bucket_counts(self._single(_EMPTY_WORD), 1)[0]
            norms[zero] = np.linalg.norm(matrix[zero], axis=1, keepdims=True)
        normalised: npt.NDArray[np.float32] = (matrix / norms).astype(np.float32)
        return normalised

    def _add_text(self, batch: _Batch, text: str, *, row: int) -> None:
        self._add_words(batch, _WORD.findall(text.lower()) or [_EMPTY_WORD], row=row)

    def _add_words(self, batch: _Batch, words: list[str], *, row: int) -> None:
        before = len(batch.indices)
        hashes: list[int] = []
        for word in words:
            slots = self._cache.get(word) or self._word_slots(word)
            batch.indices.extend(slots.indices)
            batch.weights.extend(slots.weights)
            hashes.append(slots.hash)
        batch.rows.extend([row] * (len(batch.indices) - before))
        batch.pair_first.extend(hashes[:-1])
        batch.pair_second.extend(hashes[1:])
        batch.pair_rows.extend([row] * (len(hashes) - 1))

    def _single(self, word: str) -> _Batch:
        batch = _Batch()
        self._add_words(batch, [word], row=0)
        return batch

    def _bucket_counts(self, batch: _Batch, n_rows: int) -> npt.NDArray[np.float64]:
        """Sum the signed feature weights into an `(n_rows, dimension)` matrix."""
        dim = self._dimensions
        pair_hash = _mix(np.asarray(batch.pair_first, dtype=np.uint64), np.asarray(batch.pair_second, dtype=np.uint64))
        pair_index = (pair_hash % np.uint64(dim)).astype(np.int64)
        pair_weight = np.where(pair_hash >> np.uint64(63), 1.0, -1.0)
        index = np.concatenate(
            [
                np.asarray(batch.rows, dtype=np.int64) * dim + np.asarray(batch.indices, dtype=np.int64),
                np.asarray(batch.pair_rows, dtype=np.int64) * dim + pair_index,
            ]
        )
        weight = np.concatenate([np.asarray(batch.weights, dtype=np.float64), pair_weight])
        # With `weights` bincount already sums float64 (no copy here); its stubs only know integers.
        counts = np.bincount(index, weights=weight, minlength=n_rows * dim).astype(np.float64, copy=False)
        return counts.reshape(n_rows, dim)

    def _word_slots(self, word: str) -> _WordSlots:
        """Buckets and signed weights of a word's unigram and its char 3-grams (memoised)."""
        word_hash = _stable_hash(f"w:{word}")
        indices = [word_hash % self._dimensions]
        weights = [1.0 if word_hash & _SIGN_BIT else -1.0]
        for trigram in _trigrams(word):
            digest = _stable_hash(f"c:{trigram}")
            indices.append(digest % self._dimensions)
            weights.append(_TRIGRAM_WEIGHT if digest & _SIGN_BIT else -_TRIGRAM_WEIGHT)
        slots = _WordSlots(word_hash, indices, weights)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = slots
        return slots


def _stable_hash(key: str) -> int:
    return int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "little")


def _mix(first: npt.NDArray[np.uint64], second: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 of an ordered pair of hashes (uint64 arithmetic wraps, as intended)."""
    z = first * _GOLDEN + second
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    mixed: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return mixed


def _trigrams(word: str) -> list[str]:
    padded = f"<{word}>"
    return [padded[i : i + 3] for i in range(len(padded) - 2)]
