"""A mixed workload on the whole stack: 16 concurrent callers for 60 s, errors, latency and memory per process.

    uv run python bench/load.py [--seconds 60] [--concurrency 16] [--users 10] [--memories 1000]
        [--recall 40] [--remember 20] [--turn 15] [--plan 10] [--dry-run 10] [--daily 5] [--seed 7]
        [--env NAME=VALUE ...]

The stack is `pma up` (`python -m pma_core.cli up`, as `make dev` runs it) in a temporary data directory on
free ports, on its embedded defaults: Postgres, Valkey and Qdrant embedded, the offline hashing embedder,
the offline planner (no LLM key; LLM_ALLOW_MODEL_REQUESTS false), the ICS calendar (no Google), no Coda,
no API token. Every setting of the shell is dropped first, so nothing of a developer's `.env` is measured;
`--env` sets one for the stack (e.g. `--env SCHEDULER_TIME_LIMIT_SECONDS=1` to see what the solver's time
limit costs the rest).

Before the clock starts: each user gets a scheduling profile (a time zone in turn), `--memories`
memories (the recall-quality set's distractor sentences, `POST /v1/remember/batch`, 100 per call) and one
offline plan (whose id the dry runs schedule). Then `--concurrency` workers, each in a loop until
`--seconds` have passed, pick an operation by weight and a user at random:

- recall: `POST /v1/recall`, the quality set's questions (with their kind filters), limit 10, cache on
  (the default: every write of the user moves their cache's generation on);
- remember: `POST /v1/remember`, a new sentence of the user, with an idempotency key;
- session turn: `POST /v1/sessions/{id}/turns`, three conversations per user, user and assistant turns
  in turn (every 10 turns beyond 50 the oldest become one summary memory);
- plan: `POST /v1/plans`, planner `offline`, the planner's labelled intents
  (services/planner-engine/tests/quality/intents.json);
- scheduler dry run: `POST /v1/runs` with `dry_run`, half of the user's plan, half 3-6 inline tasks (a
  dependency chain, priorities, some deadlines), then `GET /v1/runs/{id}` every 100 ms until it finished:
  its latency is until then (row "dry run, to finished"; the 202 alone is row "dry run, accepted"; the
  finished runs' statuses and the scheduler's own `solve_ms` are printed under the table);
- daily reflection: `POST /v1/reflections/daily`, one of the user's last 14 days.

An error is any non-2xx answer, a transport error, a run that `failed` or did not finish within 60 s, a
daily trigger whose `failed` names the user; the first distinct error bodies are printed. "Degraded" counts
2xx answers whose `warnings` say a dependency let them down (a plan made without its memory context, a
reflection missing a source: "unavailable", "failed"; not the notes every embedded answer carries): not
errors, since the call did what it could, but their first distinct warnings are printed too. Latency
percentiles are of the successful calls (degraded ones included); calls/s counts the calls finished
within the window.
Memory: each process of `pma up`'s tree grouped under its direct child (postgres: the postmaster and its
backends; a service: its uvicorn process and anything it spawned), RSS summed, after the seeding and after
the load, the highest sum seen every 5 s in between, and PSS after (Postgres's backends share its buffers,
so their RSS sum counts them more than once). CPU: seconds used by each group during the load. Exits 1 if
any call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import psutil
from harness import Json, post, progress, timed
from memory_recall import BATCH, quality_set

from pma_core.embedded.process import child_setup, free_port

READY_MARKER = "press Ctrl-C to stop"
INTENTS_FILE = Path(__file__).resolve().parents[1] / "services/planner-engine/tests/quality/intents.json"
# Every setting the services or `pma up` read (.env.example): the shell's are dropped (tests/e2e/stack.py).
SETTING_PREFIXES = (
    "PMA_", "POSTGRES_", "VALKEY_", "QDRANT_", "EMBEDDING_", "LLM_", "OPENROUTER_", "LANGFUSE_", "MEM0_",
    "HTTP_", "LOG_", "CF_ACCESS_", "MEMORY_", "PLANNER_", "SCHEDULER_", "OBSERVER_", "GOOGLE_", "CODA_",
)  # fmt: skip
SERVICES = {  # URL variable -> the service's package (its uvicorn command names `<package>.main:`)
    "MEMORY_GATEWAY_URL": "memory_gateway", "PLANNER_ENGINE_URL": "planner_engine",
    "SCHEDULER_ENGINE_URL": "scheduler_engine", "OBSERVER_AGENT_URL": "observer_agent",
}  # fmt: skip
SUPERVISOR = "supervisor (pma up)"
TIME_ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo", "Europe/London"]
SESSIONS_PER_USER = 3
RUN_POLL_SECONDS = 0.1
RUN_PATIENCE_SECONDS = 60.0
KEPT_ERRORS = 8
# Warnings that say a dependency let the call down ("memory-gateway unavailable (timed out): planned without
# recalled context", "tasks: unavailable: ..."); the others are notes on every answer of the embedded stack
# ("due date read from the intent", "meetings: none: no Google Calendar connected").
DEGRADED_MARKERS = ("unavailable", "failed")
USER_TURNS = [
    "Can we move the {topic} review to {day}? Mornings are busy this week.",
    "Remind me what I promised {person} about the {topic} draft.",
    "I finished the {topic} outline in {n} minutes, faster than I thought.",
    "What is left on the {topic} list before {day}?",
    "Block two hours for {topic} on {day} afternoon, please.",
]
ASSISTANT_TURNS = [
    "Done: the {topic} review is on {day} at 10:00, and I told {person}.",
    "You told {person} the {topic} draft would be ready by {day}.",
    "Noted. I will plan {topic} tasks a little shorter from now on.",
    "Three things are left for {topic}: the summary, the figures and a check with {person}.",
]
TURN_WORDS = {
    "topic": ["newsletter", "pricing page", "quarterly report", "onboarding", "tax return", "podcast", "invoice"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    "person": ["Yara", "Tom", "Priya", "Jonas", "Mei"],
}
TASK_TITLES = [
    "Outline the {topic}", "Draft the {topic}", "Review the {topic} with {person}", "Polish the {topic}",
    "Send the {topic} out", "Collect figures for the {topic}",
]  # fmt: skip


class CallError(Exception):
    def __init__(self, status: int | str, body: str) -> None:
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


def check(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise CallError(response.status_code, f"{response.request.method} {response.url.path}: {response.text}")
    return response


# ---------------------------------------------------------------------------------------------------
# The stack: `pma up` and its process tree.
# ---------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    root: Path
    urls: dict[str, str] = field(default_factory=lambda: {v: f"http://127.0.0.1:{free_port()}" for v in SERVICES})
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.root / "pma-up.log"

    def start(self, extra: dict[str, str], *, timeout: float = 180.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
        env |= self.urls | {"LOG_LEVEL": "WARNING", "EMBEDDING_PROVIDER": "hashing"}
        env |= {"LLM_ALLOW_MODEL_REQUESTS": "false", "SCHEDULER_PUBLIC_BASE_URL": self.urls["SCHEDULER_ENGINE_URL"]}
        env |= {"OBSERVER_PUBLIC_BASE_URL": self.urls["OBSERVER_AGENT_URL"]} | extra
        command = [sys.executable, "-m", "pma_core.cli", "up", "--data-dir", str(self.root / "data")]
        command += ["--postgres-port", str(free_port()), "--valkey-port", str(free_port())]
        command += ["--ready-timeout", str(int(timeout))]
        with self.log.open("wb") as log:  # a file, not a pipe: the services log into it for the whole run
            self.process = subprocess.Popen(
                command, env=env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, preexec_fn=child_setup(None)
            )  # fmt: skip
        deadline = time.monotonic() + timeout + 10
        while READY_MARKER not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pma up was not ready (exit {self.process.poll()}):\n{self.tail()}")
            time.sleep(0.2)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def groups(self) -> dict[str, list[psutil.Process]]:
        """Each direct child of `pma up` with everything under it, by what it runs; the supervisor alone."""
        assert self.process is not None
        supervisor = psutil.Process(self.process.pid)
        groups: dict[str, list[psutil.Process]] = {SUPERVISOR: [supervisor]}
        for child in supervisor.children():
            try:
                groups.setdefault(group_of(child), []).extend([child, *child.children(recursive=True)])
            except psutil.NoSuchProcess:
                continue
        return groups


def group_of(process: psutil.Process) -> str:
    command = " ".join(process.cmdline())
    for package in SERVICES.values():
        if f"{package}.main:" in command:
            return package.replace("_", "-")
    name = process.name()
    return "postgres" if "postgres" in name else "valkey" if "valkey" in name else f"other ({name})"


@dataclass(frozen=True)
class Usage:
    processes: int
    rss_mb: float
    pss_mb: float
    cpu_s: float


def usage(processes: list[psutil.Process], *, pss: bool) -> Usage:
    rss = pss_total = cpu = 0.0
    alive = 0
    for process in processes:
        try:
            with process.oneshot():
                rss += process.memory_info().rss
                pss_total += process.memory_full_info().pss if pss else 0
                times = process.cpu_times()
                cpu += times.user + times.system + times.children_user + times.children_system
            alive += 1
        except psutil.NoSuchProcess:
            continue  # a backend that ended meanwhile
    return Usage(alive, rss / 1_048_576, pss_total / 1_048_576, cpu)


def snapshot(stack: Stack, *, pss: bool = False) -> dict[str, Usage]:
    shot = {name: usage(processes, pss=pss) for name, processes in stack.groups().items()}
    shot["load generator (this process)"] = usage([psutil.Process()], pss=pss)
    return shot


# ---------------------------------------------------------------------------------------------------
# The workload.
# ---------------------------------------------------------------------------------------------------


@dataclass
class Clients:
    gateway: httpx.AsyncClient
    planner: httpx.AsyncClient
    scheduler: httpx.AsyncClient
    observer: httpx.AsyncClient

    async def aclose(self) -> None:
        for client in (self.gateway, self.planner, self.scheduler, self.observer):
            await client.aclose()


def open_clients(stack: Stack, *, concurrency: int) -> Clients:
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)

    def client(variable: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=stack.urls[variable], timeout=30.0, limits=limits)

    return Clients(*(client(variable) for variable in SERVICES))


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    first_errors: dict[tuple[str, str], str] = field(default_factory=dict)
    # Workers start no call after `until`; the calls still running then finish after it, so calls/s counts
    # only the calls finished within the window.
    until: float = float("inf")
    in_window: Counter[str] = field(default_factory=Counter)
    degradations: Counter[str] = field(default_factory=Counter)
    first_warnings: dict[tuple[str, str], str] = field(default_factory=dict)

    def ok(self, op: str, ms: float) -> None:
        self._count(op)
        self.latencies[op].append(ms)

    def failed(self, op: str, status: int | str, body: str) -> None:
        self._count(op)
        self.errors[op] += 1
        key = (op, f"{status} {body[:120]}")
        if len(self.first_errors) < KEPT_ERRORS and key not in self.first_errors:
            self.first_errors[key] = body[:600]

    def warned(self, op: str, warnings: list[str]) -> None:
        """A 2xx answer that says what it did without (the planner's memory context, ...): not an error."""
        warnings = [text for text in warnings if any(marker in text for marker in DEGRADED_MARKERS)]
        if not warnings:
            return
        self.degradations[op] += 1
        for warning in warnings:
            if len(self.first_warnings) < KEPT_ERRORS:
                self.first_warnings.setdefault((op, warning[:120]), warning[:600])

    def _count(self, op: str) -> None:
        self.calls[op] += 1
        if time.perf_counter() <= self.until:
            self.in_window[op] += 1


@dataclass
class Workload:
    """What the operations draw from: each user's unused sentences, their plan, their sessions' turn counts."""

    users: list[str]
    sentences: dict[str, list[Json]]
    queries: list[Json]
    intents: list[str]
    recorder: Recorder
    plans: dict[str, str] = field(default_factory=dict)
    taken: Counter[str] = field(default_factory=Counter)
    turns: Counter[str] = field(default_factory=Counter)
    counter: int = 0
    solver_status: Counter[str] = field(default_factory=Counter)  # of the finished dry runs
    solve_ms: list[float] = field(default_factory=list)

    def next_sentence(self, user: str) -> Json:
        index = self.taken[user]
        self.taken[user] += 1
        return self.sentences[user][index % len(self.sentences[user])]  # --spare makes the wrap unlikely

    def next_key(self, prefix: str) -> str:
        self.counter += 1
        return f"load:{prefix}:{self.counter}"


def build_workload(args: argparse.Namespace) -> Workload:
    quality = quality_set()
    users = [f"load-user-{i}" for i in range(args.users)]
    sentences = {
        u: [{**i.model_dump(mode="json", exclude_defaults=True), "source": "bench-load"}
            for i in quality.distractors(u, args.memories + args.spare)]
        for u in users
    }  # fmt: skip
    queries = []
    for query in quality.QUERIES:
        body: Json = {"query": query.text, "limit": 10}
        if query.kinds:
            body["filters"] = {"kinds": list(query.kinds)}
        queries.append(body)
    intents = [case["intent"] for case in json.loads(INTENTS_FILE.read_text())["cases"]]
    return Workload(users, sentences, queries, intents, Recorder())


def words(rng: random.Random, template: str) -> str:
    return template.format(**{name: rng.choice(options) for name, options in TURN_WORDS.items()}, n=rng.randint(20, 90))


Op = Callable[[Clients, Workload, random.Random, str], Awaitable[None]]


async def recall(c: Clients, w: Workload, rng: random.Random, user: str) -> None:
    check(await c.gateway.post("/v1/recall", json={"user_id": user, **rng.choice(w.queries)}))


async def remember(c: Clients, w: Workload, rng: random.Random, user: str) -> None:
    body = {"user_id": user, **w.next_sentence(user), "idempotency_key": w.next_key(user)}
    check(await c.gateway.post("/v1/remember", json=body))


async def session_turn(c: Clients, w: Workload, rng: random.Random, user: str) -> None:
    session = f"chat-{rng.randrange(SESSIONS_PER_USER)}"
    w.turns[f"{user}/{session}"] += 1
    role, templates = ("user", USER_TURNS) if w.turns[f"{user}/{session}"] % 2 else ("assistant", ASSISTANT_TURNS)
    body = {
        "user_id": user,
        "role": role,
        "content": words(rng, rng.choice(templates)),
        "metadata": {"channel": "chat"},
    }
    check(await c.gateway.post(f"/v1/sessions/{session}/turns", json=body))


async def plan(c: Clients, w: Workload, rng: random.Random, user: str) -> None:
    body = {"user_id": user, "intent": rng.choice(w.intents), "planner": "offline", "idempotency_key": w.next_key(user)}
    if warnings := check(await c.planner.post("/v1/plans", json=body)).json()["warnings"]:
        w.recorder.warned("plan (offline)", warnings)


def inline_tasks(rng: random.Random) -> list[Json]:
    """3-6 tasks: a chain of dependencies, mixed priorities, some deadlines within the window."""
    tasks: list[Json] = []
    for index in range(rng.randint(3, 6)):
        task: Json = {"id": str(uuid.uuid4()), "title": words(rng, rng.choice(TASK_TITLES)),
                      "estimate_minutes": rng.choice([30, 45, 60, 90, 120, 180]),
                      "priority": rng.choice(["low", "normal", "normal", "high"]),
                      "splittable": rng.random() < 0.6}  # fmt: skip
        if index and rng.random() < 0.5:
            task["depends_on"] = [tasks[-1]["id"]]
        if rng.random() < 0.3:
            task["deadline"] = (datetime.now(UTC) + timedelta(days=rng.randint(5, 12))).isoformat()
        tasks.append(task)
    return tasks


async def dry_run(c: Clients, w: Workload, rng: random.Random, user: str) -> None:
    body: Json = {"user_id": user, "dry_run": True}
    body |= {"plan_id": w.plans[user]} if rng.random() < 0.5 else {"tasks": inline_tasks(rng)}
    started = time.perf_counter()
    run_id = check(await c.scheduler.post("/v1/runs", json=body)).json()["run_id"]
    w.recorder.ok("dry run, accepted", (time.perf_counter() - started) * 1000)
    while time.perf_counter() - started < RUN_PATIENCE_SECONDS:
        answer = check(await c.scheduler.get(f"/v1/runs/{run_id}", params={"user_id": user})).json()
        if answer["status"] == "failed":
            raise CallError("run failed", json.dumps({k: answer.get(k) for k in ("id", "error", "solver_status")}))
        if answer["status"] in ("succeeded", "partial"):
            w.solver_status[f"{answer['status']}/{answer['solver_status']}"] += 1
            w.solve_ms.append(float(answer["solve_ms"] or 0.0))
            return
        await asyncio.sleep(RUN_POLL_SECONDS)
    raise CallError("run unfinished", f"run {run_id} not finished after {RUN_PATIENCE_SECONDS:.0f} s")


async def daily(c: Clients, w: Workload, rng: random.Random, user: str) -> None:
    day = datetime.now(UTC).date() - timedelta(days=rng.randint(1, 14))  # past in every time zone
    answer = check(await c.observer.post("/v1/reflections/daily", json={"user_id": user, "date": day.isoformat()}))
    if failed := answer.json()["failed"]:  # a 200 for the trigger, but the user's reflection was not built
        raise CallError("reflection failed", json.dumps(failed))
    if warnings := [text for reflection in answer.json()["reflections"] for text in reflection["warnings"]]:
        w.recorder.warned("daily reflection", warnings)


OPS: dict[str, Op] = {
    "recall": recall, "remember": remember, "session turn": session_turn, "plan (offline)": plan,
    "dry run, to finished": dry_run, "daily reflection": daily,
}  # fmt: skip
WEIGHT_FLAGS = {"recall": "recall", "remember": "remember", "session turn": "turn", "plan (offline)": "plan",
                "dry run, to finished": "dry_run", "daily reflection": "daily"}  # fmt: skip


async def worker(index: int, c: Clients, w: Workload, *, weights: dict[str, float], until: float, seed: int) -> None:
    rng = random.Random(f"{seed}:{index}")
    names, shares = list(weights), list(weights.values())
    while time.perf_counter() < until:
        op = rng.choices(names, shares)[0]
        started = time.perf_counter()
        try:
            await OPS[op](c, w, rng, rng.choice(w.users))
        except CallError as exc:
            w.recorder.failed(op, exc.status, exc.body)
        except httpx.HTTPError as exc:
            w.recorder.failed(op, type(exc).__name__, f"{exc.request.method} {exc.request.url.path}: {exc!r}")
        else:
            w.recorder.ok(op, (time.perf_counter() - started) * 1000)


# ---------------------------------------------------------------------------------------------------
# Seeding, the run, the tables.
# ---------------------------------------------------------------------------------------------------


async def seed(c: Clients, w: Workload, args: argparse.Namespace) -> None:
    for i, user in enumerate(w.users):
        profile = {"time_zone": TIME_ZONES[i % len(TIME_ZONES)]}
        check(await c.scheduler.put(f"/v1/profiles/{user}", json=profile))
    bodies = []
    for first in range(0, args.memories, BATCH):
        for user in w.users:
            bodies.append(
                {"user_id": user, "memories": [w.next_sentence(user) for _ in range(min(BATCH, args.memories - first))]}
            )
    loaded = await timed([post(c.gateway, "/v1/remember/batch", body) for body in bodies], concurrency=4)
    progress(f"seeded {args.memories * len(w.users):,} memories in {loaded.seconds:.1f} s")
    for user in w.users:
        body = {"user_id": user, "intent": w.intents[0], "planner": "offline"}
        w.plans[user] = check(await c.planner.post("/v1/plans", json=body)).json()["id"]


async def sample_peaks(stack: Stack, peaks: dict[str, float], *, until: float) -> None:
    while time.perf_counter() < until:
        for name, used in (await asyncio.to_thread(snapshot, stack)).items():
            peaks[name] = max(peaks.get(name, 0.0), used.rss_mb)
        await asyncio.sleep(5.0)


@dataclass
class Result:
    seconds: float
    drained: float  # how long the calls running at the deadline took to finish
    before: dict[str, Usage]
    after: dict[str, Usage]
    peaks: dict[str, float]


async def run(stack: Stack, w: Workload, args: argparse.Namespace) -> Result:
    c = open_clients(stack, concurrency=args.concurrency)
    try:
        await seed(c, w, args)
        await asyncio.sleep(2.0)  # the seeding's background work (indexing, plan events) settles first
        before = await asyncio.to_thread(snapshot, stack, pss=True)
        weights = {op: float(getattr(args, flag)) for op, flag in WEIGHT_FLAGS.items() if getattr(args, flag) > 0}
        progress(f"load: {args.concurrency} workers for {args.seconds:.0f} s, weights {weights}")
        started = time.perf_counter()
        until = w.recorder.until = started + args.seconds
        peaks: dict[str, float] = {}
        await asyncio.gather(
            sample_peaks(stack, peaks, until=until),
            *(worker(i, c, w, weights=weights, until=until, seed=args.seed) for i in range(args.concurrency)),
        )
        drained = time.perf_counter() - until
        after = await asyncio.to_thread(snapshot, stack, pss=True)
    finally:
        await c.aclose()
    return Result(args.seconds, drained, before, after, peaks)


def op_table(recorder: Recorder, seconds: float) -> list[str]:
    lines = [
        "| operation | calls | errors | degraded | calls/s | p50 (ms) | p95 (ms) | p99 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for op in [*OPS, "dry run, accepted"]:
        if not recorder.calls[op]:
            continue
        latencies = recorder.latencies[op]
        p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) if latencies else (float("nan"),) * 3
        rate = recorder.in_window[op] / seconds
        counts = f"{recorder.calls[op]:,} | {recorder.errors[op]} | {recorder.degradations[op]}"
        lines.append(f"| {op} | {counts} | {rate:.1f} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
    total, within = sum(recorder.calls[op] for op in OPS), sum(recorder.in_window[op] for op in OPS)
    errors, degraded = sum(recorder.errors.values()), sum(recorder.degradations.values())
    lines.append(f"| **all** | {total:,} | {errors} | {degraded} | {within / seconds:.1f} | | | |")
    return lines


def memory_table(result: Result) -> list[str]:
    lines = [
        "| process | processes (before / after) | RSS before (MB) | RSS peak (MB) | RSS after (MB) | PSS after (MB) "
        "| CPU during the load (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys([*result.before, *result.after]):
        b, a = result.before.get(name, Usage(0, 0, 0, 0)), result.after.get(name, Usage(0, 0, 0, 0))
        peak = max(result.peaks.get(name, 0.0), b.rss_mb, a.rss_mb)
        lines.append(f"| {name} | {b.processes} / {a.processes} | {b.rss_mb:.0f} | {peak:.0f} | {a.rss_mb:.0f} "
                     f"| {a.pss_mb:.0f} | {a.cpu_s - b.cpu_s:.1f} |")  # fmt: skip
    return lines


def report(w: Workload, result: Result, args: argparse.Namespace, load: tuple[float, float]) -> str:
    solve = np.percentile(w.solve_ms, [50, 95]) if w.solve_ms else (float("nan"),) * 2
    lines = [
        f"{args.concurrency} workers for {result.seconds:.0f} s (+{result.drained:.1f} s for the last calls) over "
        f"{args.users} users ({args.memories:,} memories each before the clock); settings: {args.env or 'defaults'}; "
        "latency of successful calls, client side; calls/s: the calls finished within the window",
        "",
        *op_table(w.recorder, result.seconds),
        "",
        f"dry runs finished: {dict(w.solver_status)}; the scheduler's solve_ms p50 {solve[0]:.0f}, p95 {solve[1]:.0f}",
        "",
        *memory_table(result),
        "",
        f"{os.cpu_count()} CPUs; 1-minute load average {load[0]:.2f} before the stack started, "
        f"{load[1]:.2f} after the load",
    ]
    if w.recorder.first_errors:
        lines += ["", "first distinct errors:"]
        lines += [f"- {op}: {body}" for (op, _), body in w.recorder.first_errors.items()]
    if w.recorder.first_warnings:
        lines += ["", "first distinct warnings of degraded answers:"]
        lines += [f"- {op}: {text}" for (op, _), text in w.recorder.first_warnings.items()]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    load_before = os.getloadavg()[0]
    workload = build_workload(args)
    with tempfile.TemporaryDirectory(prefix="pma-load-") as root:
        stack = Stack(Path(root))
        try:
            progress("starting pma up...")
            stack.start(dict(setting.split("=", 1) for setting in args.env))
            result = asyncio.run(run(stack, workload, args))
            load_after = os.getloadavg()[0]
        finally:
            tail = stack.tail() if stack.log.exists() else ""
            code = stack.stop()
            progress(f"pma up exited with {code}")
    print(report(workload, result, args, (load_before, load_after)))
    if workload.recorder.errors:
        print(f"\nlast lines of pma up's output:\n{tail}")
        return 1
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--memories", type=int, default=1000, help="per user, before the clock starts")
    parser.add_argument("--spare", type=int, default=3000, help="more sentences per user for the remembers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for pma up and its services, e.g. SCHEDULER_TIME_LIMIT_SECONDS=1 (default: none)",
    )  # fmt: skip
    weights = parser.add_argument_group("weights (relative; 0 leaves an operation out)")
    weights.add_argument("--recall", type=float, default=40)
    weights.add_argument("--remember", type=float, default=20)
    weights.add_argument("--turn", type=float, default=15, help="session turn append")
    weights.add_argument("--plan", type=float, default=10, help="offline plan")
    weights.add_argument("--dry-run", type=float, default=10, help="scheduler dry run, until finished")
    weights.add_argument("--daily", type=float, default=5, help="daily reflection")
    args = parser.parse_args()
    if not any(getattr(args, flag) > 0 for flag in WEIGHT_FLAGS.values()):
        parser.error("give at least one operation a weight above 0")
    if bad := [setting for setting in args.env if "=" not in setting]:
        parser.error(f"--env takes NAME=VALUE, not {bad[0]!r}")
    return args


if __name__ == "__main__":
    sys.exit(main(parse_args()))
