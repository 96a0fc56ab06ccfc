"""remember throughput and recall latency of the memory-gateway over HTTP, as the store grows; prints tables.

    uv run python bench/memory_recall.py [--sizes 10000,100000] [--users 10] [--queries 300] [--optimize]

Embedded stack in a temporary directory, as `pma up` runs it: Postgres and Valkey on free ports, the
`pma` database migrated, embedded Qdrant, the offline hashing embedder. The gateway runs under uvicorn
in a child process of its own, so this load generator never shares its event loop (it does share the
machine's cores). For each size, in order:

1. load up to `size` memories spread over `--users` users with `POST /v1/remember/batch` (100 per call,
   `--writers` concurrent callers): the distractor sentences of the recall-quality test
   (services/memory-gateway/tests/quality/labelled_set.py), so full-text matches are as common as there;
2. recall, with the quality set's questions (and their kind filters) spread over the users: cold
   (`use_cache: false`) and cached (each request once to fill the cache, then timed), at each
   `--concurrency`; latency is the client's (HTTP round trip included), `took_ms` the server's own;
3. `--singles` calls of `POST /v1/remember`, one at a time (they stay in the store);
4. with `--optimize`: stop the gateway, build the Qdrant index (`optimize`: the gateway never does it
   itself), start it again and repeat step 2. The next size then loads on top of the optimized store.

Each recall row also says how much CPU a request cost each process (the gateway, Postgres with its
backends, Valkey, and this load generator, which shares the cores): on a machine where concurrency only
queues, that sum per request is what bounds the requests per second.

`--profile DIR` runs the gateway under cProfile (one file per gateway start); it slows the gateway down.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

import httpx
import numpy as np
import psutil
from harness import (
    Datastores,
    Json,
    Timed,
    cpu_seconds,
    ints,
    machine_note,
    post,
    progress,
    ready_without,
    start_datastores,
    start_service,
    timed,
)

from pma_core.embedded.process import free_port, stop_process
from pma_core.vectors import EdgeVectorStore

COLLECTION = "agent_memories"
BATCH = 100
QUALITY_SET = Path(__file__).resolve().parents[1] / "services/memory-gateway/tests/quality/labelled_set.py"


def quality_set() -> ModuleType:
    """The recall-quality test's data module (tests are not a package, so it is loaded by path)."""
    spec = importlib.util.spec_from_file_location("labelled_set", QUALITY_SET)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {QUALITY_SET}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@dataclass
class Stack:
    """Postgres, Valkey and the Qdrant directory in `root`, and the gateway process serving them."""

    root: Path
    profile_dir: Path | None
    port: int = field(default_factory=free_port)
    datastores: Datastores | None = None
    gateway: subprocess.Popen[bytes] | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)
    # A dependency the gateway runs without on purpose: /readyz is then 503 naming it, and the gateway ready.
    down: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def qdrant_path(self) -> Path:
        return self.root / "qdrant"

    def start_datastores(self) -> None:
        self.datastores = start_datastores(self.root)
        self.env = self.datastores.env

    def start_gateway(self, *, timeout: float = 120.0) -> None:
        self.starts += 1
        profile = self.profile_dir / f"gateway-{self.starts}.prof" if self.profile_dir is not None else None
        self.gateway = start_service(
            "memory_gateway.main:app_from_env", port=self.port, env=self.env, root=self.root,
            log_name=f"gateway-{self.starts}.log", profile=profile, timeout=timeout,
            ready=ready_without(self.down) if self.down else None,
        )  # fmt: skip

    @property
    def gateway_pid(self) -> int:
        if self.gateway is None:
            raise RuntimeError("the gateway is not running")
        return self.gateway.pid

    def gateway_rss_mb(self) -> float:
        if self.gateway is None:
            return float("nan")
        return float(psutil.Process(self.gateway.pid).memory_info().rss) / 1_048_576

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            # uvicorn re-raises the stop signal once it has shut down: SIGTERM would then kill the process
            # before cProfile writes its file, while SIGINT unwinds through cProfile's own `finally`.
            sig = signal.SIGINT if self.profile_dir is not None else signal.SIGTERM
            stop_process(self.gateway, sig=sig, timeout=60)
            self.gateway = None

    def stop(self) -> None:
        self.stop_gateway()
        if self.datastores is not None:
            self.datastores.stop()


class Memories:
    """Each user's stream of distinct memories; every call takes the next unused ones."""

    def __init__(self, quality: ModuleType, users: Sequence[str], *, per_user: int) -> None:
        self.streams = {
            u: [i.model_dump(mode="json", exclude_defaults=True) for i in quality.distractors(u, per_user)]
            for u in users
        }
        self.taken = dict.fromkeys(users, 0)

    def take(self, user: str, count: int) -> list[Json]:
        start = self.taken[user]
        self.taken[user] = start + count
        if self.taken[user] > len(self.streams[user]):
            raise ValueError(f"the stream of {user!r} is exhausted")
        return self.streams[user][start : start + count]

    @property
    def stored(self) -> int:
        return sum(self.taken.values())


def server_ms(result: Timed) -> list[float]:
    """The gateway's own timing of each recall (`took_ms`), from the kept answers."""
    return [float(answer["took_ms"]) for answer in result.answers]


async def load(client: httpx.AsyncClient, memories: Memories, users: Sequence[str], *, to: int, writers: int) -> Timed:
    """Batches until the store holds `to` memories, user by user in turn, so that writers rarely share a user."""
    missing = max(to - memories.stored, 0)
    share = [missing // len(users) + (1 if i < missing % len(users) else 0) for i in range(len(users))]
    batches = [memories.take(user, n) for user, n in zip(users, share, strict=True)]
    bodies: list[Json] = []
    for first in range(0, max(share, default=0), BATCH):
        for user, items in zip(users, batches, strict=True):
            if chunk := items[first : first + BATCH]:
                bodies.append({"user_id": user, "memories": chunk})
    calls = [post(client, "/v1/remember/batch", body) for body in bodies]
    return await timed(calls, concurrency=writers)


def recall_bodies(quality: ModuleType, users: Sequence[str], count: int, *, use_cache: bool) -> list[Json]:
    queries = quality.QUERIES
    bodies = []
    for i in range(count):
        query = queries[i % len(queries)]
        body: Json = {"user_id": users[i % len(users)], "query": query.text, "use_cache": use_cache}
        if query.kinds:
            body["filters"] = {"kinds": list(query.kinds)}
        bodies.append(body)
    return bodies


@dataclass(frozen=True)
class RecallRow:
    memories: int
    index: str
    mode: str
    concurrency: int
    result: Timed
    # CPU milliseconds per request by role (service, postgres, valkey, client) while the row ran.
    cpu_ms: dict[str, float] = field(default_factory=dict)


async def measure_recall(
    client: httpx.AsyncClient,
    quality: ModuleType,
    users: Sequence[str],
    *,
    memories: int,
    index: str,
    args: argparse.Namespace,
    gateway_pid: int,
) -> list[RecallRow]:
    # The HTTP floor: the cheapest route, through the same client, server and middleware as recall.
    floor = await timed([lambda: client.get("/healthz") for _ in range(args.queries)], concurrency=1)
    rows = [RecallRow(memories, index, "GET /healthz (HTTP floor)", 1, floor)]
    for mode, use_cache in (("cold", False), ("cached", True)):
        bodies = recall_bodies(quality, users, args.queries, use_cache=use_cache)
        # One untimed pass first: it fills the cache (the cached pass repeats requests it has seen) and
        # warms a freshly started gateway (its pool opens connections on demand).
        await timed([post(client, "/v1/recall", b) for b in bodies], concurrency=max(args.concurrency))
        for concurrency in args.concurrency:
            calls = [post(client, "/v1/recall", b) for b in bodies]
            before = cpu_seconds(gateway_pid)
            result = await timed(calls, concurrency=concurrency, keep=True)
            after = cpu_seconds(gateway_pid)
            cpu_ms = {role: (after[role] - before[role]) * 1000 / len(calls) for role in after}
            rows.append(RecallRow(memories, index, mode, concurrency, result, cpu_ms))
            progress(f"recall {mode} c={concurrency} at {memories:,} ({index}): p95 {result.percentiles()[1]:.1f} ms")
    return rows


@dataclass(frozen=True)
class LoadRow:
    memories: int
    batched: Timed
    batched_memories: int
    singles: Timed | None
    rss_mb: float
    optimize_seconds: float | None = None
    # CPU milliseconds per single remember by role, as for recall.
    singles_cpu_ms: dict[str, float] = field(default_factory=dict)


async def optimize(stack: Stack) -> float:
    """Stop the gateway (it owns the Qdrant files), build the index, start it again; seconds optimize took."""
    await asyncio.to_thread(stack.stop_gateway)
    store = EdgeVectorStore(stack.qdrant_path)
    started = time.perf_counter()
    try:
        await store.optimize(COLLECTION)
    finally:
        await store.close()
    seconds = time.perf_counter() - started
    await asyncio.to_thread(stack.start_gateway)
    return seconds


async def run(args: argparse.Namespace, stack: Stack) -> tuple[list[LoadRow], list[RecallRow]]:
    quality = quality_set()
    users = [f"bench-user-{i}" for i in range(args.users)]
    per_user = -(-(max(args.sizes) + args.singles * len(args.sizes)) // args.users)
    memories = Memories(quality, users, per_user=per_user)
    loads: list[LoadRow] = []
    recalls: list[RecallRow] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=stack.url, timeout=120.0, limits=limits) as client:
        for size in args.sizes:
            before = memories.stored
            batched = await load(client, memories, users, to=size, writers=args.writers)
            loaded = memories.stored - before
            progress(f"loaded {loaded:,} in {batched.seconds:.1f}s ({loaded / batched.seconds:.0f} memories/s)")
            at = memories.stored
            recalls += await measure_recall(
                client, quality, users, memories=at, index="as served", args=args, gateway_pid=stack.gateway_pid
            )
            before_singles = cpu_seconds(stack.gateway_pid)
            singles = await remember_singles(client, memories, users, count=args.singles)
            after_singles = cpu_seconds(stack.gateway_pid)
            singles_cpu = {
                role: (after_singles[role] - before_singles[role]) * 1000 / args.singles for role in after_singles
            } if args.singles else {}  # fmt: skip
            row = LoadRow(at, batched, loaded, singles, stack.gateway_rss_mb(), singles_cpu_ms=singles_cpu)
            if args.optimize:
                row = replace(row, optimize_seconds=await optimize(stack))
                progress(f"optimize at {memories.stored:,}: {row.optimize_seconds:.1f}s")
                recalls += await measure_recall(
                    client, quality, users, memories=memories.stored, index="optimized", args=args,
                    gateway_pid=stack.gateway_pid,
                )  # fmt: skip
            loads.append(row)
    return loads, recalls


async def remember_singles(
    client: httpx.AsyncClient, memories: Memories, users: Sequence[str], *, count: int
) -> Timed | None:
    """`count` calls of POST /v1/remember, one at a time, the users in turn."""
    if not count:
        return None
    bodies = [{"user_id": user, **memories.take(user, 1)[0]} for user in (users[i % len(users)] for i in range(count))]
    return await timed([post(client, "/v1/remember", body) for body in bodies], concurrency=1)


def tables(loads: Sequence[LoadRow], recalls: Sequence[RecallRow], args: argparse.Namespace) -> str:
    lines = [
        f"{args.users} users, hashing embedder (384-d), embedded Postgres/Valkey/Qdrant; remember/batch: {BATCH} "
        f"per call, {args.writers} concurrent callers; single remember: one at a time",
        "",
        "| memories | remember batched (memories/s) | batch call p50 / p95 (ms) | remember single (calls/s) "
        "| single p50 / p95 (ms) | single, CPU ms per call: gateway / Postgres / Valkey / load generator "
        "| optimize (s) | gateway RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in loads:
        b50, b95, _ = r.batched.percentiles()
        single = ("-", "-") if r.singles is None else (f"{r.singles.per_second:.0f}", _pair(r.singles.percentiles()))
        optimized = "-" if r.optimize_seconds is None else f"{r.optimize_seconds:.1f}"
        lines.append(
            f"| {r.memories:,} | {r.batched_memories / r.batched.seconds:.0f} | {b50:.0f} / {b95:.0f} "
            f"| {single[0]} | {single[1]} | {_cpu(r.singles_cpu_ms)} | {optimized} | {r.rss_mb:.0f} |"
        )
    lines += [
        "",
        f"recall: {args.queries} requests per row (limit 10), client-side latency; `took_ms` is the server's own",
        "",
        "| memories | Qdrant index | recall | concurrency | p50 (ms) | p95 (ms) | p99 (ms) | requests/s "
        "| took_ms p50 / p95 | CPU ms per request: gateway / Postgres / Valkey / load generator |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in recalls:
        p50, p95, p99 = row.result.percentiles()
        took = _pair(tuple(np.percentile(server_ms(row.result), [50, 95, 99]))) if row.result.answers else "-"
        lines.append(
            f"| {row.memories:,} | {row.index} | {row.mode} | {row.concurrency} | {p50:.1f} | {p95:.1f} | {p99:.1f} "
            f"| {row.result.per_second:.0f} | {took} | {_cpu(row.cpu_ms)} |"
        )
    return "\n".join(lines)


def _cpu(cpu_ms: dict[str, float]) -> str:
    if not cpu_ms:
        return "-"
    return " / ".join(f"{cpu_ms[role]:.1f}" for role in ("service", "postgres", "valkey", "client"))


def _pair(values: tuple[float, ...]) -> str:
    return f"{values[0]:.1f} / {values[1]:.1f}"


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pma-bench-") as root:
        stack = Stack(Path(root), args.profile)
        try:
            stack.start_datastores()
            stack.start_gateway()
            loads, recalls = asyncio.run(run(args, stack))
        finally:
            stack.stop()
    print(tables(loads, recalls, args))
    print(f"\n{machine_note(started, load_before)}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=ints, default=[10_000, 100_000], help="store sizes, ascending")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--queries", type=int, default=300, help="recall requests per measurement")
    parser.add_argument("--concurrency", type=ints, default=[1, 16])
    parser.add_argument("--writers", type=int, default=4, help="concurrent remember/batch callers")
    parser.add_argument("--singles", type=int, default=500, help="single remember calls per size")
    parser.add_argument("--optimize", action="store_true", help="also measure recall after building the index")
    parser.add_argument("--profile", type=Path, default=None, help="directory for the gateway's cProfile files")
    args = parser.parse_args()
    if args.sizes != sorted(args.sizes):
        parser.error("--sizes must be ascending")
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


if __name__ == "__main__":
    main(parse_args())
