"""planner-engine latency over HTTP: the offline planner, and what the service adds around a slow LLM.

    uv run python bench/planner.py [--plans 200] [--llm-plans 100] [--users 10] [--sops 50] [--quick]

Embedded stack in a temporary directory, as `pma up` runs it: Postgres and Valkey on free ports, the
`pma` database migrated, embedded Qdrant, the offline hashing embedder. A real memory-gateway and the
planner-engine run under uvicorn in child processes of their own; the planner's memory-gateway URL is that
gateway (the scheduler's is a closed port: only acceptance calls it, and this bench never accepts). Each
user gets a few memories first (`POST /v1/remember/batch`), so recall before planning finds something.
The planner's LLM is a FakeOpenAIServer (pma_core.testing) running in this process, scripted per request
to answer a valid plan after a fixed `--llm-delay` (0.5 s). In order, over HTTP with httpx:

1. `GET /healthz` of the planner: the HTTP floor;
2. offline planning (`planner: "offline"`), empty SOP library: `--plans` plans at concurrency 1 after
   `--warmup` untimed ones, over a mix of intents (some with a due date, one with an explicit list) and
   `--users` users; then the memory-gateway calls the planner makes before each plan, sent from here;
3. `--sops` SOPs per user through `POST /v1/sops` (timed), then step 2 again: every plan now scores the
   user's whole library, and the intents that match an SOP are planned from it;
4. the LLM path (`planner: "llm"`, library still there): `--llm-plans` plans at each `--llm-concurrency`;
   overhead = latency - the fake's delay;
5. the fake alone: the planner's own chat request (as the fake recorded it) replayed with the openai SDK
   from this process, same delay: what the fake and the SDK cost by themselves.

Every plan also goes through what a real one does: two recalls and a similar-events search on the
memory-gateway, the user's execution history, the plan and its tasks written, the `plan.created` event.
`--profile DIR` runs the planner under cProfile (it slows the planner down).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import psutil
from harness import Call, Datastores, Json, Timed, ints, post, progress, start_datastores, start_service, timed
from openai import AsyncOpenAI

from pma_core.embedded.process import free_port, stop_process
from pma_core.testing.fake_openai import FakeOpenAIServer

BUDGET_OFFLINE_P95_MS = 100.0
BUDGET_OVERHEAD_MS = 50.0

# The intents planned, in turn: playbook verbs, a due phrase, an explicit list, and some close to an SOP below.
INTENTS: list[tuple[str, int | None]] = [
    ("Launch the newsletter by Friday", 4),
    ("Write the quarterly report for the board", 10),
    ("Fix the login bug on the mobile app", None),
    ("Build a landing page for the beta", 14),
    ("Learn the basics of Rust", None),
    ("Organise the team offsite in June", 30),
    ("Prepare the tax documents", 7),
    ("Plan the product demo:\n- draft the script\n- record the walkthrough\n- send the invites", 5),
    ("Migrate the blog to the new host", None),
    ("Review the hiring pipeline", 3),
    ("Clean up the garage this weekend", 2),
    ("Write a blog post about the launch", None),
]
# One user's memories: preferences (recalled with a kind filter) and facts the intents share words with.
MEMORIES: list[tuple[str, str]] = [
    ("preference", "I prefer deep work in the morning, before 11:00"),
    ("preference", "No meetings on Fridays; Friday is for writing"),
    ("preference", "I like tasks split in chunks of at most 90 minutes"),
    ("preference", "Send drafts to Alice for review before publishing anything"),
    ("fact", "The newsletter goes out every other Tuesday to 4,000 subscribers"),
    ("fact", "The quarterly report is due to the board two weeks after quarter end"),
    ("fact", "The mobile app login uses OAuth with a refresh token that expires after 30 days"),
    ("fact", "The beta landing page is built with Astro and deployed on Netlify"),
    ("goal", "Learn Rust well enough to write a CLI tool this year"),
    ("fact", "The team offsite is usually in Lisbon for three days"),
    ("fact", "The accountant needs the tax documents by the 20th"),
    ("decision", "The blog moves from WordPress to a static site"),
    ("fact", "The hiring pipeline has 12 candidates for the designer role"),
    ("observation", "Writing tasks took 1.5x their estimates last month"),
    ("instruction", "Always add a buffer day before a hard deadline"),
]
# SOP library: verb x object, each with its own steps (and one task per step).
SOP_VERBS: dict[str, list[str]] = {
    "launch": ["Define the goal and audience", "Prepare the assets", "Schedule the launch", "Announce it"],
    "write": ["Outline", "Draft", "Revise", "Publish"],
    "fix": ["Reproduce the problem", "Find the cause", "Fix and test", "Release the fix"],
    "build": ["Sketch the design", "Build the first version", "Test it", "Ship it"],
    "organise": ["Pick the date", "Book the venue", "Send the invites", "Run it"],
    "prepare": ["Gather the inputs", "Fill in the forms", "Check them", "Hand them over"],
    "migrate": ["Inventory what moves", "Set up the target", "Move the content", "Switch over"],
    "review": ["Collect the material", "Read through it", "Write the feedback", "Follow up"],
}
SOP_OBJECTS = [
    "newsletter", "quarterly report", "login bug", "landing page", "team offsite", "tax documents", "blog",
    "hiring pipeline", "onboarding guide", "pricing page", "release notes", "support inbox", "mobile app",
    "status report", "budget", "roadmap",
]  # fmt: skip


def plan_reply() -> Json:
    """What the fake LLM answers: a valid PlanDraft (three steps, four tasks)."""
    steps = [
        {"title": title, "purpose": purpose, "inputs": [], "done_criteria": [f"{title}: done"]}
        for title, purpose in (
            ("Outline the work", "Know what is in scope"),
            ("Do the work", "Produce the result"),
            ("Review and ship", "Get it out"),
        )
    ]
    tasks = [
        {"key": "t1", "title": "Outline the work", "estimate_minutes": 30, "depends_on": [], "step": 1},
        {"key": "t2", "title": "First half of the work", "estimate_minutes": 90, "depends_on": ["t1"], "step": 2},
        {"key": "t3", "title": "Second half of the work", "estimate_minutes": 90, "depends_on": ["t2"], "step": 2},
        {"key": "t4", "title": "Review and ship", "estimate_minutes": 45, "depends_on": ["t3"], "step": 3},
    ]
    return {"sop": {"title": "Get it done", "summary": "A plan from the fake LLM", "steps": steps}, "tasks": tasks}


def sop_bodies(user: str, count: int) -> list[Json]:
    """`count` distinct SOPs for a user: each verb with each object, in an order that mixes verbs."""
    pairs = [(verb, obj) for obj in SOP_OBJECTS for verb in SOP_VERBS]
    if count > len(pairs):
        raise ValueError(f"at most {len(pairs)} SOPs per user")
    bodies = []
    for verb, obj in pairs[:count]:
        titles = SOP_VERBS[verb]
        steps = [{"title": t, "purpose": f"{t} for the {obj}", "done_criteria": [f"{t}: done"]} for t in titles]
        tasks = [
            {"key": f"t{i}", "title": f"{t} ({obj})", "estimate_minutes": 45 + 15 * i, "step": i,
             "depends_on": [f"t{i - 1}"] if i > 1 else [], "tags": [verb]}
            for i, t in enumerate(titles, start=1)
        ]  # fmt: skip
        bodies.append(
            {
                "user_id": user,
                "name": f"{verb}-{obj.replace(' ', '-')}",
                "title": f"{verb.capitalize()} the {obj}",
                "summary": f"How we {verb} the {obj}",
                "intent": f"{verb} the {obj}",
                "steps": steps,
                "tasks": tasks,
                "tags": [verb],
            }
        )
    return bodies


def plan_bodies(users: Sequence[str], count: int, *, planner: str, offset: int = 0) -> list[Json]:
    """`count` plan requests: the intents in turn, the users in turn (so pairs vary), due dates from now."""
    now = datetime.now(UTC)
    bodies = []
    for i in range(offset, offset + count):
        intent, due_days = INTENTS[i % len(INTENTS)]
        body: Json = {"user_id": users[(i // len(INTENTS) + i) % len(users)], "intent": intent, "planner": planner}
        if due_days is not None:
            body["due_at"] = (now + timedelta(days=due_days)).isoformat()
        bodies.append(body)
    return bodies


@dataclass
class Stack:
    """Postgres, Valkey and the Qdrant directory in `root`; the memory-gateway and planner processes."""

    root: Path
    profile_dir: Path | None
    gateway_port: int = field(default_factory=free_port)
    planner_port: int = field(default_factory=free_port)
    datastores: Datastores | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def planner_url(self) -> str:
        return f"http://127.0.0.1:{self.planner_port}"

    def start_datastores(self) -> None:
        self.datastores = start_datastores(self.root)
        self.env = self.datastores.env | {
            "MEMORY_GATEWAY_URL": self.gateway_url,
            # Only acceptance calls the scheduler; a closed port keeps it out of the picture.
            "SCHEDULER_ENGINE_URL": f"http://127.0.0.1:{free_port()}",
        }

    def start_gateway(self) -> None:
        self._start("memory-gateway", "memory_gateway.main:app_from_env", self.gateway_port, {}, profile=False)

    def start_planner(self, fake: FakeOpenAIServer, *, llm_timeout: float) -> None:
        llm = fake.llm_settings(timeout_seconds=llm_timeout)
        assert llm.api_key is not None
        env = {
            "LLM_BASE_URL": llm.base_url,
            "LLM_API_KEY": llm.api_key.get_secret_value(),
            "LLM_MODEL": llm.model,
            "LLM_TIMEOUT_SECONDS": str(llm.timeout_seconds),
            "LLM_MAX_RETRIES": str(llm.max_retries),
            "LLM_ALLOW_MODEL_REQUESTS": "false",
        }
        self._start("planner-engine", "planner_engine.main:app_from_env", self.planner_port, env, profile=True)

    def _start(self, name: str, factory: str, port: int, extra: dict[str, str], *, profile: bool) -> None:
        profile_file = self.profile_dir / f"{name}.prof" if profile and self.profile_dir is not None else None
        self.processes[name] = start_service(
            factory, port=port, env=self.env | extra, root=self.root, log_name=f"{name}.log", profile=profile_file,
            timeout=120,
        )  # fmt: skip

    def rss_mb(self, name: str) -> float:
        process = self.processes.get(name)
        if process is None:
            return float("nan")
        return float(psutil.Process(process.pid).memory_info().rss) / 1_048_576

    def stop(self) -> None:
        for name, process in reversed(self.processes.items()):
            # SIGINT lets cProfile write its file (uvicorn re-raises SIGTERM after shutting down).
            profiled = self.profile_dir is not None and name == "planner-engine"
            stop_process(process, sig=signal.SIGINT if profiled else signal.SIGTERM, timeout=60)
        self.processes.clear()
        if self.datastores is not None:
            self.datastores.stop()


@dataclass(frozen=True)
class Row:
    what: str
    concurrency: int
    result: Timed
    note: str = ""
    minus_ms: float | None = None  # overhead rows: latency minus the fake's delay


async def seed_memories(gateway: httpx.AsyncClient, users: Sequence[str]) -> None:
    for user in users:
        memories = [{"text": text, "kind": kind, "source": "bench"} for kind, text in MEMORIES]
        response = await gateway.post("/v1/remember/batch", json={"user_id": user, "memories": memories})
        response.raise_for_status()


async def plan_offline(
    client: httpx.AsyncClient, users: Sequence[str], args: argparse.Namespace, *, label: str, offset: int
) -> Row:
    warm = plan_bodies(users, args.warmup, planner="offline", offset=offset)
    await timed([post(client, "/v1/plans", body) for body in warm], concurrency=1)
    bodies = plan_bodies(users, args.plans, planner="offline", offset=offset + args.warmup)
    result = await timed([post(client, "/v1/plans", body) for body in bodies], concurrency=1, keep=True)
    matched = sum(1 for plan in result.answers if plan["based_on"] is not None)
    degraded = sum(1 for plan in result.answers if any("memory-gateway" in w for w in plan["warnings"]))
    recalled = float(np.mean([len(plan["recalled"]) for plan in result.answers]))
    if degraded:
        progress(f"warning: {degraded} plans were made without memory (memory-gateway unavailable)")
    note = f"{matched}/{len(bodies)} from an SOP; {recalled:.1f} memories recalled per plan"
    if degraded:
        note += f"; {degraded} without memory"
    progress(f"{label}: p95 {result.percentiles()[1]:.1f} ms ({note})")
    return Row(label, 1, result, note)


async def memory_context(gateway: httpx.AsyncClient, users: Sequence[str], args: argparse.Namespace) -> Row:
    """What the planner asks the memory-gateway before each plan (adapters/memory.py), from here."""
    limit = 5  # PLANNER_RECALL_LIMIT's default

    def call(body: Json) -> Call:
        user, intent = body["user_id"], body["intent"]

        async def context() -> httpx.Response:
            answers = await asyncio.gather(
                gateway.post(
                    "/v1/recall",
                    json={"user_id": user, "query": intent, "limit": limit, "filters": {"kinds": ["preference"]}},
                ),
                gateway.post("/v1/recall", json={"user_id": user, "query": intent, "limit": limit}),
                gateway.post(
                    "/v1/similar_events",
                    json={"user_id": user, "text": intent, "event_types": ["plan.created"], "limit": min(3, limit)},
                ),
            )
            for answer in answers[:-1]:
                answer.raise_for_status()
            return answers[-1]

        return context

    bodies = plan_bodies(users, args.plans, planner="offline")
    result = await timed([call(body) for body in bodies], concurrency=1)
    return Row("memory context alone (2 recalls + similar events)", 1, result, "memory-gateway, as the planner asks")


async def create_sops(client: httpx.AsyncClient, users: Sequence[str], count: int) -> Row:
    bodies = [body for user in users for body in sop_bodies(user, count)]
    result = await timed([post(client, "/v1/sops", body) for body in bodies], concurrency=1)
    return Row("POST /v1/sops", 1, result, f"{count} per user")


async def plan_llm(
    client: httpx.AsyncClient, fake: FakeOpenAIServer, users: Sequence[str], args: argparse.Namespace, *, offset: int
) -> list[Row]:
    reply = plan_reply()

    def call(body: Json) -> Call:
        async def scripted() -> httpx.Response:
            # One scripted answer per request; all are alike, so concurrent requests may take any of them.
            fake.reply_json(reply, delay=args.llm_delay)
            return await client.post("/v1/plans", json=body)

        return scripted

    rows: list[Row] = []
    warm = plan_bodies(users, args.warmup, planner="llm", offset=offset)
    await timed([call(body) for body in warm], concurrency=1)
    offset += args.warmup
    for concurrency in args.llm_concurrency:
        chats_before = len(fake.chat_requests)
        bodies = plan_bodies(users, args.llm_plans, planner="llm", offset=offset)
        offset += len(bodies)
        result = await timed([call(body) for body in bodies], concurrency=concurrency, keep=True)
        chats = len(fake.chat_requests) - chats_before
        if fake.pending() or chats != len(bodies) or any(plan["planner"] != "llm" for plan in result.answers):
            raise RuntimeError(f"expected {len(bodies)} LLM plans in one call each; {chats} chat calls")
        matched = sum(1 for plan in result.answers if plan["based_on"] is not None)
        note = f"{matched}/{len(bodies)} adapting an SOP"
        rows.append(Row("LLM planner, fake answers after the delay", concurrency, result, note, args.llm_delay * 1000))
        progress(f"llm c={concurrency}: p95 {result.percentiles()[1]:.1f} ms")
    return rows


async def fake_alone(fake: FakeOpenAIServer, args: argparse.Namespace) -> Row:
    """The planner's last chat request, replayed with the openai SDK: the fake's and the SDK's own cost."""
    request = fake.chat_requests[-1].body
    reply = plan_reply()
    openai = AsyncOpenAI(base_url=fake.base_url, api_key=fake.api_key, timeout=10.0, max_retries=1)
    latencies: list[float] = []
    try:
        started_all = time.perf_counter()
        for i in range(args.warmup + args.llm_plans):
            fake.reply_json(reply, delay=args.llm_delay)
            started = time.perf_counter()
            await openai.chat.completions.create(
                model=request["model"],
                messages=request["messages"],
                temperature=request["temperature"],
                response_format=request["response_format"],
                extra_body={"usage": request.get("usage", {"include": True})},
            )
            if i == args.warmup - 1:
                started_all = time.perf_counter()
            if i >= args.warmup:
                latencies.append((time.perf_counter() - started) * 1000)
        seconds = time.perf_counter() - started_all
    finally:
        await openai.close()
    result = Timed(latencies, seconds, [])
    return Row("fake alone (openai SDK, same request)", 1, result, "no service in between", args.llm_delay * 1000)


async def run(args: argparse.Namespace, stack: Stack, fake: FakeOpenAIServer) -> list[Row]:
    users = [f"bench-user-{i}" for i in range(args.users)]
    rows: list[Row] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, timeout=60.0, limits=limits) as gateway,
        httpx.AsyncClient(base_url=stack.planner_url, timeout=60.0, limits=limits) as client,
    ):
        ready = (await client.get("/readyz")).json()
        states = {d["name"]: d["status"] for d in ready["dependencies"]}
        if states.get("memory-gateway") != "ok":
            raise RuntimeError(f"the planner does not reach the memory-gateway: {states}")
        await seed_memories(gateway, users)
        floor = await timed([lambda: client.get("/healthz") for _ in range(args.plans)], concurrency=1)
        rows.append(Row("GET /healthz (HTTP floor)", 1, floor))
        rows.append(await plan_offline(client, users, args, label="offline planner, no SOPs", offset=0))
        rows.append(await memory_context(gateway, users, args))
        offset = args.warmup + args.plans
        if args.sops:
            rows.append(await create_sops(client, users, args.sops))
            label = f"offline planner, {args.sops} SOPs per user"
            rows.append(await plan_offline(client, users, args, label=label, offset=offset))
            offset += args.warmup + args.plans
        rows += await plan_llm(client, fake, users, args, offset=offset)
        rows.append(await fake_alone(fake, args))
    return rows


def table(rows: Sequence[Row], args: argparse.Namespace, rss_mb: float) -> str:
    lines = [
        f"{args.users} users with {len(MEMORIES)} memories each, {len(INTENTS)} intents in turn; real "
        f"memory-gateway; offline hashing embedder; embedded Postgres/Valkey/Qdrant; fake LLM delay "
        f"{args.llm_delay * 1000:.0f} ms; "
        "client-side latency (HTTP round trip included)",
        "",
        "| measurement | concurrency | requests | p50 (ms) | p95 (ms) | p99 (ms) | requests/s "
        "| minus LLM delay p50 / p95 (ms) | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        p50, p95, p99 = row.result.percentiles()
        minus = "-"
        if row.minus_ms is not None:
            o50, o95, _ = row.result.percentiles(row.minus_ms)
            minus = f"{o50:.1f} / {o95:.1f}"
        lines.append(
            f"| {row.what} | {row.concurrency} | {len(row.result.latencies_ms)} | {p50:.1f} | {p95:.1f} | {p99:.1f} "
            f"| {row.result.per_second:.1f} | {minus} | {row.note} |"
        )
    lines += ["", *goals(rows), f"planner-engine RSS at the end: {rss_mb:.0f} MB"]
    return "\n".join(lines)


def goals(rows: Sequence[Row]) -> list[str]:
    lines = []
    offline = [row for row in rows if row.what.startswith("offline planner")]
    for row in offline:
        p95 = row.result.percentiles()[1]
        verdict = "met" if p95 < BUDGET_OFFLINE_P95_MS else "MISSED"
        lines.append(f"- offline p95 < {BUDGET_OFFLINE_P95_MS:.0f} ms ({row.what}): {verdict} ({p95:.1f} ms)")
    llm = [row for row in rows if row.what.startswith("LLM planner") and row.concurrency == 1]
    alone = [row for row in rows if row.what.startswith("fake alone")]
    for row in llm:
        assert row.minus_ms is not None
        o95 = row.result.percentiles(row.minus_ms)[1]
        verdict = "met" if o95 < BUDGET_OVERHEAD_MS else "MISSED"
        line = f"- overhead p95 < {BUDGET_OVERHEAD_MS:.0f} ms (latency - delay, c=1): {verdict} ({o95:.1f} ms"
        if alone:
            a50, a95, _ = alone[0].result.percentiles()
            line += (
                f"; of which the fake + SDK alone take {a50 - row.minus_ms:.1f} ms p50: the service adds "
                f"{row.result.percentiles()[0] - a50:.1f} ms p50, {row.result.percentiles()[1] - a95:.1f} ms p95"
            )
        lines.append(line + ")")
    return lines


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pma-bench-") as root, FakeOpenAIServer() as fake:
        stack = Stack(Path(root), args.profile)
        try:
            stack.start_datastores()
            stack.start_gateway()
            stack.start_planner(fake, llm_timeout=10.0)
            rows = asyncio.run(run(args, stack, fake))
            rss = stack.rss_mb("planner-engine")
        finally:
            stack.stop()
    print(table(rows, args, rss))
    # Other processes on the machine skew every figure: the load average says how busy it was.
    print(
        f"\ntotal {time.perf_counter() - started:.0f}s on {os.cpu_count()} CPUs; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=200, help="timed offline plans per measurement")
    parser.add_argument("--llm-plans", type=int, default=100, help="timed LLM plans per concurrency")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--sops", type=int, default=50, help="SOPs per user (0: skip the library measurement)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before each measurement")
    parser.add_argument("--llm-delay", type=float, default=0.5, help="seconds the fake LLM waits before answering")
    parser.add_argument("--llm-concurrency", type=ints, default=[1, 8])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 40 plans, 20 LLM plans, 10 SOPs, 3 users")
    parser.add_argument("--profile", type=Path, default=None, help="directory for the planner's cProfile file")
    args = parser.parse_args()
    if args.quick:
        args.plans, args.llm_plans, args.sops, args.users, args.warmup = 40, 20, 10, 3, 5
    if min(args.plans, args.llm_plans, args.users, args.warmup) < 1 or args.sops < 0:
        parser.error("--plans, --llm-plans, --users and --warmup must be at least 1; --sops at least 0")
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


if __name__ == "__main__":
    main(parse_args())
