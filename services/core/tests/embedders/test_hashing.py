"""The offline hashing embedder: deterministic, normalised, lexical (its throughput: bench/embedder.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from pma_core.embedders import Embedder, HashingEmbedder


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))


async def test_name_dimension_and_protocol() -> None:
    embedder: Embedder = HashingEmbedder()
    await embedder.start()
    assert (embedder.name, embedder.dimension) == ("hashing-384", 384)
    [vector] = await embedder.embed(["hello"])
    assert len(vector) == 384
    assert HashingEmbedder(dimensions=64).name == "hashing-64"
    await embedder.close()


async def test_vectors_are_unit_length_even_for_empty_text() -> None:
    vectors = await HashingEmbedder().embed(["The cat sat on the mat.", "", "!!!", "a"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


async def test_empty_input_gives_empty_output() -> None:
    assert await HashingEmbedder().embed([]) == []


async def test_deterministic_across_instances_and_order_kept() -> None:
    texts = ["buy milk", "call the dentist about Friday", "buy milk"]
    first = await HashingEmbedder().embed(texts)
    second = await HashingEmbedder().embed(list(reversed(texts)))
    assert first == list(reversed(second))
    assert first[0] == first[2]


def test_stable_across_processes_whatever_the_hash_seed() -> None:
    # Python's built-in hash() is salted per process; the embedder must not depend on it.
    code = "from pma_core.embedders import HashingEmbedder as H; print(H(16).vectorize(['stable words']).tolist())"
    runs = [
        subprocess.Popen([sys.executable, "-c", code], env={"PYTHONHASHSEED": seed}, stdout=subprocess.PIPE, text=True)
        for seed in ("1", "2")
    ]
    outputs = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert outputs == {str(HashingEmbedder(16).vectorize(["stable words"]).tolist())}


async def test_shared_words_and_subwords_are_closer_than_unrelated_text() -> None:
    query, similar, inflected, unrelated = await HashingEmbedder().embed(
        [
            "reschedule the team meeting to Friday",
            "move the team meeting to Friday afternoon",
            "rescheduled meetings",
            "buy oat milk and bananas",
        ]
    )
    assert cosine(query, similar) > 0.4
    assert cosine(query, inflected) > cosine(query, unrelated) + 0.1
    assert abs(cosine(query, unrelated)) < 0.15


async def test_lexical_only_synonyms_are_not_found() -> None:
    # Documented limitation: no shared words or subwords, no similarity.
    car, automobile = await HashingEmbedder().embed(["car", "automobile"])
    assert abs(cosine(car, automobile)) < 0.2


async def test_large_batches_match_small_ones() -> None:
    texts = [f"note number {i} about project {i % 7}" for i in range(600)]
    embedder = HashingEmbedder(dimensions=128)
    big = await embedder.embed(texts)  # computed in a worker thread
    assert big[:5] == await embedder.embed(texts[:5])
