"""The memory-gateway next to mem0 OSS 2.2.1, on the same data, embedder and Postgres; prints one table.

    uv run --frozen python bench/mem0_peer.py [--sizes 10000,100000] [--queries 300] [--singles 500]
        [--writers 1] [--dimensions 384] [--systems gateway,mem0]

(`--sizes` defaults to 10000; `--systems` runs one side only, for development.)

mem0 (mem0ai==2.2.1, pinned with its whole closure in bench/mem0-requirements.txt) lives in an environment of
its own, .venvs/mem0-bench, which this script creates with uv on first use and re-syncs whenever the
requirements file changes; the workspace's environment is never touched. Both systems run on one embedded
stack in a temporary directory (harness.start_datastores: Postgres 18 with pgvector, Valkey, embedded Qdrant)
and get the same embedder over HTTP on loopback: pma_core's fake OpenAI server (in this process), whose
/v1/embeddings answers the offline hashing embedder's vectors (EMBEDDING_HASHING_DIMENSIONS, 384) in the real
wire format. The gateway uses it as EMBEDDING_PROVIDER=openai; mem0 as its "openai" embedder.

- memory-gateway: under uvicorn in a process of its own (as bench/memory_recall.py runs it), called over HTTP
  with httpx, one call at a time (`--writers` for concurrent remember/batch callers). Vectors in its embedded
  Qdrant, rows and full-text search in the `pma` database.
- mem0: in-process inside bench/mem0_worker.py (that is how mem0 OSS is used: a library, not a server),
  which this script drives with JSON lines over stdin/stdout. Vector store pgvector in a database `mem0` of
  the same Postgres (mem0 creates its table `mem0` with an HNSW index, vector_cosine_ops), history in
  mem0's default SQLite file (MEM0_DIR in the temporary directory), telemetry off. `add(text,
  infer=False)`: stored as given, no LLM call (an LLM config pointing at the fake is there because mem0
  builds its client regardless). No spaCy (mem0ai has it as the [nlp] extra, whose model is fetched from
  GitHub): mem0 then neither lemmatizes nor drops stop words for its BM25 leg, which ANDs every word of the
  question (`plainto_tsquery('simple', ...)`) and so rarely matches, and extracts no entities; its ranking
  is then mostly the cosine similarity of the vector search.

Data, the same for both: the recall-quality set (services/memory-gateway/tests/quality/labelled_set.py), its
60 targets first and then its distractors, the three users sharing each size equally. Each size in
`--sizes` (ascending; each holds more than the 60 targets) is the number of memories in the store; a size
loads on top of the previous one. For each system and size, in order:

1. add up to the size. Gateway: `POST /v1/remember/batch` (100 per call) for all but the last `--singles`
   memories of the step (at most half of it), those by `POST /v1/remember`, one at a time. mem0: `add`, one
   memory per call (its API takes one text, or a conversation that shares one metadata dict);
2. recall, one query at a time: the set's 42 questions, each with its user and its kind filter (both
   systems filter on kind: the gateway's `filters.kinds`, mem0's metadata filter `{"kind": {"in": [...]}}`),
   top 5, once for the hits; then `--queries` of them in turn, timed. Gateway: `POST /v1/recall` with
   `use_cache: false`, limit 5. mem0: `search(query, top_k=5, filters=...)`.

Columns:
- system, memories: who, and how many memories the store holds when recall is measured;
- batched add (memories/s): memories stored per second of remember/batch calls (gateway only);
- single add (memories/s), single add p50 / p95 (ms): one memory per call, one call at a time; per call;
- recall p50 / p95 (ms): per query, one at a time. Gateway: as its HTTP client sees it; mem0: the time
  `search` takes in its process. Both include one embedding call over loopback HTTP to the fake;
- hits on planted facts (top 5): over the 42 questions, the expected target memories found in the top 5, of
  all expected (44);
- embedder calls per add / per recall: HTTP calls the fake received, divided by the memories added (in that
  phase, all add paths) and by the recalls;
- RSS (MB): the resident set of the system's process after its recall (gateway: the uvicorn process, with
  embedded Qdrant's vectors inside; mem0: the worker, whose vectors are in Postgres). Postgres is not counted.

Under the table: what one embedding call to the fake costs from this process (1 text, 100 texts), the floor
under both systems' figures; mem0's pgvector version, the indexes on its table and the hnsw.* settings; and,
per size, the plan Postgres ran for mem0's user-filtered vector search (EXPLAIN ANALYZE of its SQL), with the
rows it returned of the 60 asked: on a table without statistics the planner takes the HNSW index and filters
on the user afterwards, among the index's ef_search (40) candidates, so fewer than 60 come back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import httpx
import psutil
from harness import Json, Timed, create_database, ints, post, progress, start_datastores, start_service, timed
from memory_recall import quality_set

from pma_core.embedded.process import child_setup, free_port, stop_process
from pma_core.embedders import HashingEmbedder
from pma_core.settings import EmbeddingSettings
from pma_core.testing.fake_openai import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "bench/mem0-requirements.txt"
WORKER = ROOT / "bench/mem0_worker.py"
VENV = ROOT / ".venvs/mem0-bench"
# A copy of the requirements the environment was last synced to.
STAMP = VENV / "bench-requirements.txt"
BATCH = 100
TOP_K = 5
MODEL = "fake/embedding-model"
MEM0_DATABASE = "mem0"
# mem0's semantic search over-fetches max(4 x top_k, 60) candidates; the EXPLAIN below asks the same.
MEM0_INTERNAL_LIMIT = 60


def uv() -> str:
    tool = ROOT / ".tools/bin/uv"
    found = str(tool) if tool.exists() else shutil.which("uv")
    if found is None:
        raise RuntimeError("uv not found (neither .tools/bin/uv nor on PATH): run `make install` first")
    return found


def mem0_python() -> Path:
    """The interpreter of .venvs/mem0-bench, created or re-synced to bench/mem0-requirements.txt if needed."""
    python = VENV / "bin/python"
    wanted = REQUIREMENTS.read_text()
    if python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return python
    if not python.exists():
        progress(f"creating {VENV.relative_to(ROOT)} for mem0")
        subprocess.run([uv(), "venv", "--python", sys.executable, str(VENV)], check=True, cwd=ROOT)
    progress(f"syncing {VENV.relative_to(ROOT)} to {REQUIREMENTS.relative_to(ROOT)}")
    command = [uv(), "pip", "sync", "--python", str(python), str(REQUIREMENTS)]
    subprocess.run(command, check=True, cwd=ROOT)
    STAMP.write_text(wanted)
    return python


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class Plan:
    """Each user's memories in storing order (targets, then distractors), and how many each size holds."""

    def __init__(self, quality: ModuleType, sizes: Sequence[int]) -> None:
        self.users: tuple[str, ...] = tuple(quality.USERS)
        self.targets = {
            u: [t.item().model_dump(mode="json", exclude_defaults=True) for t in quality.targets_of(u)]
            for u in self.users
        }
        self.target_count = sum(len(items) for items in self.targets.values())
        most = split(max(sizes) - self.target_count, len(self.users))
        self.streams = {
            user: self.targets[user]
            + [d.model_dump(mode="json", exclude_defaults=True) for d in quality.distractors(user, count)]
            for user, count in zip(self.users, most, strict=True)
        }

    def held(self, size: int) -> dict[str, int]:
        """How many of each user's stream the store holds at `size`."""
        shares = split(size - self.target_count, len(self.users))
        return {u: len(self.targets[u]) + share for u, share in zip(self.users, shares, strict=True)}

    def step(self, before: int, size: int) -> list[tuple[str, Json]]:
        """The memories that take the store from `before` (0: empty) to `size`, the users in turn."""
        start = self.held(before) if before else dict.fromkeys(self.users, 0)
        new = [self.streams[u][start[u] : stop] for u, stop in self.held(size).items()]
        order: list[tuple[str, Json]] = []
        for i in range(max(len(items) for items in new)):
            order += [(user, items[i]) for user, items in zip(self.users, new, strict=True) if i < len(items)]
        return order


@dataclass(frozen=True)
class Query:
    user: str
    text: str
    kinds: list[str] | None
    expected: tuple[str, ...]  # the target texts that must be in the top 5


def queries_of(quality: ModuleType) -> list[Query]:
    text_of = {t.label: t.text for t in quality.TARGETS}
    return [
        Query(q.user, q.text, list(q.kinds) if q.kinds else None, tuple(text_of[label] for label in q.expected))
        for q in quality.QUERIES
    ]


def hits(queries: Sequence[Query], found: Sequence[Sequence[str]]) -> tuple[int, int, list[str]]:
    """(expected texts found in their query's top 5, expected texts in all, the questions that missed one)."""
    got = total = 0
    misses: list[str] = []
    for query, texts in zip(queries, found, strict=True):
        total += len(query.expected)
        got += sum(1 for text in query.expected if text in texts)
        if any(text not in texts for text in query.expected):
            misses.append(query.text)
    return got, total, misses


@dataclass(frozen=True)
class Row:
    system: str
    memories: int
    batched: Timed | None
    batched_memories: int
    singles: Timed
    recall: Timed
    found: int
    expected: int
    embed_calls_add: int
    # Embedding calls during the recall phase, and the recalls in it (the hits pass and the timed ones).
    embed_calls_recall: int
    recalls: int
    rss_mb: float


def embedder_calls(fake: FakeOpenAIServer) -> int:
    """Embedding calls since the last count; the fake forgets them (and so holds no texts for long)."""
    count = len(fake.embedding_requests)
    fake.reset()
    return count


# --- memory-gateway -------------------------------------------------------------------------------------


def gateway_env(base: dict[str, str], fake: FakeOpenAIServer, dimensions: int) -> dict[str, str]:
    return base | {
        "EMBEDDING_PROVIDER": "openai",
        "EMBEDDING_BASE_URL": fake.base_url,
        "EMBEDDING_API_KEY": fake.api_key,
        "EMBEDDING_MODEL": MODEL,
        "EMBEDDING_DIMENSIONS": str(dimensions),
        "LLM_ALLOW_MODEL_REQUESTS": "false",
    }


def batch_bodies(memories: Sequence[tuple[str, Json]]) -> list[Json]:
    """remember/batch bodies of at most 100 memories of one user, the users' batches in turn."""
    per_user: dict[str, list[Json]] = {}
    for user, item in memories:
        per_user.setdefault(user, []).append(item)
    bodies: list[Json] = []
    for first in range(0, max((len(items) for items in per_user.values()), default=0), BATCH):
        for user, items in per_user.items():
            if chunk := items[first : first + BATCH]:
                bodies.append({"user_id": user, "memories": chunk})
    return bodies


def not_created(answers: Sequence[Json]) -> int:
    outcomes = [r["outcome"] for a in answers for r in a.get("results", [a])]
    return sum(1 for outcome in outcomes if outcome != "created")


async def gateway_sizes(
    url: str,
    plan: Plan,
    queries: Sequence[Query],
    fake: FakeOpenAIServer,
    process: subprocess.Popen[bytes],
    args: argparse.Namespace,
) -> list[Row]:
    rows: list[Row] = []
    before = 0
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=url, timeout=120.0, limits=limits) as client:
        for size in args.sizes:
            step = plan.step(before, size)
            singles = min(args.singles, len(step) // 2)
            batched_part, single_part = step[: len(step) - singles], step[len(step) - singles :]
            calls = [post(client, "/v1/remember/batch", body) for body in batch_bodies(batched_part)]
            batched = await timed(calls, concurrency=args.writers, keep=True)
            progress(f"gateway: {len(batched_part):,} by remember/batch in {batched.seconds:.1f}s")
            bodies = [{"user_id": user, **item} for user, item in single_part]
            single = await timed([post(client, "/v1/remember", b) for b in bodies], concurrency=1, keep=True)
            progress(f"gateway: {singles:,} by remember in {single.seconds:.1f}s")
            if merged := not_created(batched.answers + single.answers):
                progress(f"gateway: {merged} memories were not created (merged into a near-duplicate?)")
            add_calls = embedder_calls(fake)
            first, recall = await gateway_recall(client, queries, args.queries)
            found, expected, misses = hits(queries, first)
            progress(f"gateway at {size:,}: {found}/{expected} hits; missed: {misses}")
            for query, texts in zip(queries, first, strict=True):
                if query.text in misses:  # what came instead, to tell a ranking miss from a data clash
                    progress(f"  {query.text!r} expected {list(query.expected)}, got {texts}")
            rss = float(psutil.Process(process.pid).memory_info().rss) / 1_048_576
            rows.append(
                Row("memory-gateway", size, batched, len(batched_part), single, recall, found, expected,
                    add_calls, embedder_calls(fake), len(queries) + args.queries, rss)
            )  # fmt: skip
            before = size
    return rows


async def gateway_recall(
    client: httpx.AsyncClient, queries: Sequence[Query], count: int
) -> tuple[list[list[str]], Timed]:
    """The top-5 texts of every question (one pass), then `count` timed recalls, one at a time."""

    def body(query: Query) -> Json:
        body: Json = {"user_id": query.user, "query": query.text, "limit": TOP_K, "use_cache": False}
        if query.kinds:
            body["filters"] = {"kinds": query.kinds}
        return body

    first = await timed([post(client, "/v1/recall", body(q)) for q in queries], concurrency=1, keep=True)
    texts = [[hit["memory"]["text"] for hit in answer["hits"]] for answer in first.answers]
    calls = [post(client, "/v1/recall", body(queries[i % len(queries)])) for i in range(count)]
    return texts, await timed(calls, concurrency=1)


def run_gateway(
    root: Path,
    env: dict[str, str],
    plan: Plan,
    queries: Sequence[Query],
    fake: FakeOpenAIServer,
    args: argparse.Namespace,
) -> list[Row]:
    port = free_port()
    process = start_service(
        "memory_gateway.main:app_from_env", port=port, env=env, root=root, log_name="gateway.log",
        profile=None, timeout=120.0,
    )  # fmt: skip
    try:
        embedder_calls(fake)  # the start's own calls, if any
        return asyncio.run(gateway_sizes(f"http://127.0.0.1:{port}", plan, queries, fake, process, args))
    finally:
        stop_process(process, sig=signal.SIGTERM, timeout=60)


# --- mem0 -----------------------------------------------------------------------------------------------


class Mem0Worker:
    """bench/mem0_worker.py in mem0's environment: one JSON request a line, one JSON answer a line."""

    def __init__(self, python: Path, *, env: dict[str, str], root: Path, config: Json) -> None:
        self.log = root / "mem0-worker.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(python), str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                cwd=root, preexec_fn=child_setup(None),
            )  # fmt: skip
        self.call(config)

    def call(self, request: Json) -> Json:
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("the mem0 worker has no pipes")
        stdin.write(json.dumps(request).encode() + b"\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the mem0 worker exited with {self.process.wait()}; its log ends:\n{tail}")
        answer: Json = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the mem0 worker failed:\n{answer['error']}")
        return answer

    def rss_mb(self) -> float:
        return float(psutil.Process(self.process.pid).memory_info().rss) / 1_048_576

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.call({"op": "quit"})
                self.process.wait(timeout=30)
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                stop_process(self.process, sig=signal.SIGTERM, timeout=30)


def mem0_env(root: Path) -> dict[str, str]:
    """The shell's environment without its mem0/OpenAI settings or the workspace's venv, plus the bench's."""
    dropped = ("MEM0_", "OPENAI_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    (root / "mem0").mkdir()
    return env | {"MEM0_TELEMETRY": "false", "MEM0_DIR": str(root / "mem0"), "PYTHONUNBUFFERED": "1"}


def to_timed(answer: Json) -> Timed:
    return Timed([float(ms) for ms in answer["latencies_ms"]], float(answer["seconds"]), [])


def run_mem0(
    python: Path,
    root: Path,
    postgres_url: str,
    plan: Plan,
    queries: Sequence[Query],
    fake: FakeOpenAIServer,
    args: argparse.Namespace,
) -> tuple[list[Row], list[str]]:
    config = {
        "connection_string": postgres_url, "base_url": fake.base_url, "api_key": fake.api_key, "model": MODEL,
        "dimensions": args.dimensions,
    }  # fmt: skip
    worker = Mem0Worker(python, env=mem0_env(root), root=root, config=config)
    rows: list[Row] = []
    plans: list[str] = []
    try:
        embedder_calls(fake)
        before = 0
        for size in args.sizes:
            items = [{"user_id": u, "text": m["text"], "metadata": metadata(m)} for u, m in plan.step(before, size)]
            added = to_timed(worker.call({"op": "add", "items": items}))
            progress(f"mem0: {len(items):,} by add in {added.seconds:.1f}s")
            add_calls = embedder_calls(fake)
            wire = [{"user_id": q.user, "text": q.text, "kinds": q.kinds} for q in queries]
            first = worker.call({"op": "search", "queries": wire, "top_k": TOP_K})
            found, expected, misses = hits(queries, first["texts"])
            progress(f"mem0 at {size:,}: {found}/{expected} hits; missed: {misses}")
            timed_wire = [wire[i % len(wire)] for i in range(args.queries)]
            recall = to_timed(worker.call({"op": "search", "queries": timed_wire, "top_k": TOP_K}))
            rows.append(
                Row("mem0 OSS 2.2.1", size, None, 0, added, recall, found, expected, add_calls, embedder_calls(fake),
                    len(queries) + args.queries, worker.rss_mb())
            )  # fmt: skip
            plans.append(f"{size:,}: {asyncio.run(mem0_plan(postgres_url, queries[0], args.dimensions))}")
            before = size
    finally:
        worker.stop()
    return rows, plans


def metadata(item: Json) -> Json:
    """The gateway's item fields that mem0 has no place for, as its metadata (filterable: `kind`)."""
    return {
        "kind": item.get("kind", "fact"),
        "importance": item.get("importance", 0.5),
        "source": item.get("source", ""),
    }


async def prepare_mem0_database(admin_url: str, url: str) -> None:
    await create_database(admin_url, MEM0_DATABASE)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    finally:
        await conn.close()


async def mem0_indexes(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'mem0' ORDER BY 1")
        settings = await conn.fetch(
            "SELECT name, setting FROM pg_settings WHERE name IN ('hnsw.ef_search', 'hnsw.iterative_scan')"
        )
        version = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    finally:
        await conn.close()
    using = "; ".join(str(row["indexdef"]).split(" USING ", 1)[-1] for row in rows)
    knobs = ", ".join(f"{row['name']}={row['setting']}" for row in settings) or "hnsw.* at their defaults"
    return f"pgvector {version}; indexes on mem0's table: {using}; {knobs}"


async def mem0_plan(url: str, query: Query, dimensions: int) -> str:
    """The plan Postgres runs for mem0's semantic search of one user (its SQL, its over-fetch of 60), the rows
    it returned, and whether the table had been analyzed (the planner picks the HNSW index on a table without
    statistics, and pgvector then filters on the user after the index's `ef_search` candidates)."""
    (vector,) = HashingEmbedder(dimensions).vectorize([query.text])
    literal = "[" + ",".join(f"{x:.6f}" for x in vector) + "]"
    sql = (
        f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT id, vector <=> '{literal}'::vector AS distance, payload FROM mem0 "
        f"WHERE payload->>'user_id' = '{query.user}' ORDER BY distance LIMIT {MEM0_INTERNAL_LIMIT}"
    )
    conn = await asyncpg.connect(url)
    try:
        plan = json.loads(await conn.fetchval(sql))[0]["Plan"]
        analyzed = await conn.fetchval(
            "SELECT coalesce(last_analyze, last_autoanalyze) IS NOT NULL FROM pg_stat_user_tables"
            " WHERE relname = 'mem0'"
        )
    finally:
        await conn.close()
    rows = int(plan.get("Actual Rows", 0))
    stats = "analyzed" if analyzed else "never analyzed"
    return f"{' > '.join(plan_nodes(plan))}, {rows} of {MEM0_INTERNAL_LIMIT} rows ({stats})"


def plan_nodes(node: Json) -> list[str]:
    name = str(node["Node Type"])
    if "Index Name" in node:
        name += f" ({node['Index Name']})"
    children: list[Any] = node.get("Plans", [])
    return [name] + (plan_nodes(children[0]) if children else [])


def embedder_floor(fake: FakeOpenAIServer, dimensions: int) -> dict[int, tuple[float, float]]:
    """p50 / p95 (ms) of embedding calls to the fake from this process, with 1 text (what each single add and
    each recall makes, in either system) and with 100 (one remember/batch call): the least they cost."""
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    floors: dict[int, tuple[float, float]] = {}
    with httpx.Client(base_url=fake.base_url, headers=headers, timeout=10.0) as client:
        for texts, calls in ((1, 50), (BATCH, 10)):
            inputs = [f"sentence {i} of about the length of a memory, with a few words" for i in range(texts)]
            body = {"model": MODEL, "input": inputs, "dimensions": dimensions, "encoding_format": "float"}
            latencies = []
            for _ in range(calls):
                started = time.perf_counter()
                client.post("/embeddings", json=body).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
            p50, p95, _ = Timed(latencies, 1.0, []).percentiles()
            floors[texts] = (p50, p95)
    embedder_calls(fake)
    return floors


# --- the table ------------------------------------------------------------------------------------------


def table(
    rows: Sequence[Row], args: argparse.Namespace, floor: dict[int, tuple[float, float]], mem0_notes: Sequence[str]
) -> str:
    lines = [
        f"3 users, hashing embedder ({args.dimensions}-d) served by a loopback OpenAI-compatible fake to both; "
        f"embedded Postgres 18 + pgvector for both; top {TOP_K}; one call at a time"
        + (f" (remember/batch: {args.writers} callers)" if args.writers > 1 else ""),
        "",
        "| system | memories | batched add (memories/s) | single add (memories/s) | single add p50 / p95 (ms) "
        "| recall p50 / p95 (ms) | hits on planted facts (top 5) | embedder calls per add / per recall "
        "| RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        batched = "-" if r.batched is None else f"{r.batched_memories / r.batched.seconds:,.0f}"
        added = r.batched_memories + len(r.singles.latencies_ms)
        s50, s95, _ = r.singles.percentiles()
        q50, q95, _ = r.recall.percentiles()
        lines.append(
            f"| {r.system} | {r.memories:,} | {batched} | {r.singles.per_second:,.0f} | {s50:.1f} / {s95:.1f} "
            f"| {q50:.1f} / {q95:.1f} | {r.found}/{r.expected} | {r.embed_calls_add / added:.2f} / "
            f"{r.embed_calls_recall / r.recalls:.2f} | {r.rss_mb:.0f} |"
        )
    lines += [
        "",
        f"Gateway: its own uvicorn process, over HTTP (client-side latency, HTTP hop included); remember/batch "
        f"{BATCH} per call, then up to {args.singles} single remembers per size. mem0: in-process in its worker "
        "(that is how mem0 OSS is used), timed around each `add(infer=False)` / `search` call; no batched add "
        "(one text per call). Both filter on kind for the 8 questions that have one. One embedding call to the "
        f"fake from this process, p50 / p95: {floor[1][0]:.1f} / {floor[1][1]:.1f} ms with 1 text, "
        f"{floor[BATCH][0]:.1f} / {floor[BATCH][1]:.1f} ms with {BATCH}. mem0's vector index:",
        *(f"- {note}" for note in mem0_notes),
    ]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    python = mem0_python()
    quality = quality_set()
    plan = Plan(quality, args.sizes)
    queries = queries_of(quality)
    rows: list[Row] = []
    notes: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="pma-bench-") as name,
        FakeOpenAIServer(embedding_dimension=args.dimensions) as fake,
    ):
        root = Path(name)
        floor = embedder_floor(fake, args.dimensions)
        datastores = start_datastores(root)
        try:
            mem0_url = datastores.postgres.url(MEM0_DATABASE)
            asyncio.run(prepare_mem0_database(datastores.postgres.url(), mem0_url))
            if "gateway" in args.systems:
                env = gateway_env(datastores.env, fake, args.dimensions)
                rows += run_gateway(root, env, plan, queries, fake, args)
            if "mem0" in args.systems:
                mem0_rows, plans = run_mem0(python, root, mem0_url, plan, queries, fake, args)
                rows += mem0_rows
                notes += [asyncio.run(mem0_indexes(mem0_url))]
                notes += [f"plan of its user-filtered search (LIMIT {MEM0_INTERNAL_LIMIT}) at " + "; ".join(plans)]
        finally:
            datastores.stop()
    print(table(rows, args, floor, notes))
    # Other processes on the machine skew every figure: the load average says how busy it was.
    print(
        f"\ntotal {time.perf_counter() - started:.0f}s on {os.cpu_count()} CPUs; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=ints, default=[10_000], help="memories in the store, ascending")
    parser.add_argument("--queries", type=int, default=300, help="timed recalls per system and size")
    parser.add_argument("--singles", type=int, default=500, help="gateway: single remembers per size (at most half)")
    parser.add_argument("--writers", type=int, default=1, help="gateway: concurrent remember/batch callers")
    default_dimensions = EmbeddingSettings.model_fields["hashing_dimensions"].default
    parser.add_argument("--dimensions", type=int, default=default_dimensions, help="embedding size")
    parser.add_argument(
        "--systems", type=lambda text: text.split(","), default=["gateway", "mem0"], help="gateway,mem0"
    )
    args = parser.parse_args()
    targets = len(quality_set().TARGETS)
    if args.sizes != sorted(set(args.sizes)) or args.sizes[0] <= targets:
        parser.error(f"--sizes must be ascending, each above the {targets} targets")
    if not set(args.systems) <= {"gateway", "mem0"}:
        parser.error("--systems: gateway, mem0 or both")
    return args


if __name__ == "__main__":
    main(parse_args())
