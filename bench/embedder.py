"""Throughput of the offline hashing embedder on 200-character texts; print a Markdown table.

    uv run python bench/embedder.py [--texts 5000] [--runs 5] [--dimension 384] [--seed 7]

The texts are drawn from `--seed`: words of 2-10 random letters from a 5000-word vocabulary, joined
until a text reaches 200 characters (then cut there), as in the unit test this figure used to be asserted
in. Three ways of embedding them, each `--runs` times (the table gives the median and the best run):
- cold: a new `HashingEmbedder` per run, so its word cache starts empty (every word is hashed);
- warm: one embedder, run again on the same texts (every word's slots come from the cache; with a
  5000-word vocabulary a cold run has cached most words after its first few hundred texts anyway);
- async embed: `await embedder.embed(texts)` on a new embedder, the services' path (above 256 texts the
  work runs in a worker thread, so this includes the hand-over to the thread).
Single process, no other work: the figure is this machine's, idle or not (the load average is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from pma_core.embedders import HashingEmbedder

TEXT_CHARS = 200


@dataclass(frozen=True)
class Row:
    case: str
    texts: int
    seconds: list[float]

    @property
    def median_per_second(self) -> float:
        return self.texts / statistics.median(self.seconds)

    @property
    def best_per_second(self) -> float:
        return self.texts / min(self.seconds)


def make_texts(count: int, *, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10))) for _ in range(5000)]
    texts = []
    for _ in range(count):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < TEXT_CHARS:
            words.append(rng.choice(vocabulary))
        texts.append(" ".join(words)[:TEXT_CHARS])
    return texts


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def bench(texts: list[str], *, runs: int, dimension: int) -> list[Row]:
    cold = [timed(lambda: HashingEmbedder(dimension).vectorize(texts)) for _ in range(runs)]
    warm_embedder = HashingEmbedder(dimension)
    warm_embedder.vectorize(texts)  # fills the word cache
    warm = [timed(lambda: warm_embedder.vectorize(texts)) for _ in range(runs)]
    in_thread = [timed(lambda: asyncio.run(HashingEmbedder(dimension).embed(texts))) for _ in range(runs)]
    return [
        Row("cold (new embedder, empty word cache)", len(texts), cold),
        Row("warm (same embedder, cached words)", len(texts), warm),
        Row("async embed (worker thread, cold)", len(texts), in_thread),
    ]


def table(rows: list[Row], *, dimension: int, runs: int) -> str:
    one, five, _ = os.getloadavg()
    lines = [
        f"hashing embedder, dimension {dimension}, {TEXT_CHARS}-character texts, {runs} runs each, "
        f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min) / {five:.1f} (5 min)",
        "",
        "| case | texts | median run (ms) | texts/s (median run) | texts/s (best run) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.case} | {r.texts:,} | {statistics.median(r.seconds) * 1000:.0f} "
            f"| {r.median_per_second:,.0f} | {r.best_per_second:,.0f} |"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    rows = bench(make_texts(args.texts, seed=args.seed), runs=args.runs, dimension=args.dimension)
    print(table(rows, dimension=args.dimension, runs=args.runs))
