"""observer-agent latency over HTTP: daily and weekly reflections of a user with months of history, offline.

    uv run python bench/observer.py [--days 90] [--seed 7] [--runs 30] [--warmup 2] [--skip-concurrency]

The stack (bench/harness.py): embedded Postgres (the `pma` database migrated) and Valkey in a temporary
directory, embedded Qdrant, the offline hashing embedder, and all four services in uvicorn processes of
their own on free ports, each given the others' URLs (MEMORY_GATEWAY_URL, PLANNER_ENGINE_URL, ...), each
ready (/readyz 200) before the next starts. No LLM key (LLM_* and OPENROUTER_* are cleared, and
LLM_ALLOW_MODEL_REQUESTS is false), so the narrative is the offline one; Coda is left unconfigured
(CODA_* cleared), so posting is skipped; no Google Calendar, so `GET /v1/busy` answers `source: none`.

One user, "bench-observer", Europe/Berlin (PUT /v1/profiles on the scheduler; the rest of the profile is
the default: Monday-Friday 09:00-17:00, lunch 12:00-13:00), gets `--days` days of history ending
yesterday (UTC), drawn from `--seed`. Each working day: 5-7 tasks (tags writing, review, admin, coding,
research) laid out from 09:00 with one block each (a task that no longer fits before 17:00 has none);
about 70 % done, 5 % cancelled, the rest still scheduled; 40 % due at 17:00 that day. 4-8 executions
(85 % runs of the day's tasks, starting in their blocks, actual minutes from the estimate times a
per-tag factor; the rest agent runs without a task), 10-20 events (0-2 on a weekend day), and one or
two offline plans a week, half the week's tasks attached to its first one. Written through the APIs:
`POST /v1/plans` (offline planner), `PUT /v1/tasks/import` (100 a call), `POST /v1/executions`
(backdated started_at/finished_at, 8 at a time), `POST /v1/events/batch` (backdated occurred_at, 100 a
call).

Three things cannot be written in the past through the APIs, so the bench writes them in SQL (setup
only; the observer reads all of them through the services' HTTP APIs, as in production):
- calendar blocks: the scheduler only schedules forward. They go straight into `calendar_blocks`, under
  one `scheduler_runs` row (succeeded, no plan, calendar marked synced) as their run; status `done`, 5 %
  `deleted` (the user removed them). The observer reads them through `GET /v1/blocks`.
- when a task was done: the import's `status: done` sets `completed_at` to now() (trigger of migration
  007), so every imported task would look done today and no past day would have any. The bench sets
  `completed_at` (and `created_at`/`updated_at`) to the day's in SQL, with the session's triggers off
  (`session_replication_role = replica`), as if each task had been marked done on its day.
- when a plan was made: `POST /v1/plans` stamps now(); `created_at` is moved to a day of its week.

Measured, over HTTP with httpx from this process, at concurrency 1 after `--warmup` untimed builds (of
older periods, so that every build follows the ones before it in time):
1. daily reflections (`POST /v1/reflections/daily`) of `--runs` distinct dates drawn from the last 60
   days, oldest first: "cold" (first build: the reflection did not exist), then "rerun" (the same dates
   rebuilt: the records did not change, so the observer keeps the narrative and the revision);
2. weekly reflections (`POST /v1/reflections/weekly`) of distinct ISO weeks of the last 12, the same
   way. A history holds fewer weeks than `--runs`: the cold row has one build per distinct week (fewer
   requests), the rerun row cycles through them to `--runs`;
3. unless `--skip-concurrency`: the daily reruns again, 4 at a time.

A daily reflection reads one local day; a weekly one reads 28 days (the insight window, which holds the
week and the one before). Each trigger also hands its delivery (daily-thread indexing, insights as
memories) to the observer's background, which runs while the next requests are measured. The sizes
table gives, per reflection, the records in the window it reads (from the seed: blocks, executions,
tasks, events, of which `GET /v1/events` returns at most 100, plans) and what its metrics counted (from
the responses). RSS of each service: after seeding and after measuring (psutil).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from itertools import cycle, islice
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import psutil
from harness import Call, Datastores, Json, Timed, post, progress, start_datastores, start_service, timed

from observer_agent.domain.insights import INSIGHT_WINDOW_DAYS
from observer_agent.domain.models import Span
from observer_agent.domain.periods import days_span, week_days, week_of
from pma_core.embedded.process import free_port, stop_process

USER = "bench-observer"
ZONE = ZoneInfo("Europe/Berlin")
BUDGET_P95_MS = 300.0
RECENT_DAYS = 60
RECENT_WEEKS = 12
EVENTS_READ_LIMIT = 100  # what the observer asks GET /v1/events for (adapters/activity.py)
SERVICES = (  # in start order: each one's readiness needs the ones before it
    ("memory-gateway", "memory_gateway.main:app_from_env", "MEMORY_GATEWAY_URL"),
    ("scheduler-engine", "scheduler_engine.main:app_from_env", "SCHEDULER_ENGINE_URL"),
    ("planner-engine", "planner_engine.main:app_from_env", "PLANNER_ENGINE_URL"),
    ("observer-agent", "observer_agent.main:app_from_env", "OBSERVER_AGENT_URL"),
)
# Settings of the shell that harness.py leaves in and that would change what is measured.
_MORE_PREFIXES = ("SCHEDULER_", "GOOGLE_", "OBSERVER_", "CODA_")
# Tag -> how actual minutes run against the estimate (times a lognormal spread).
TAGS = {"writing": 1.4, "review": 0.9, "admin": 1.1, "coding": 1.3, "research": 1.2}
ESTIMATES = [30, 45, 60, 60, 90, 120]
EVENT_TYPES = ["task.started", "task.done", "note.logged", "agent.run", "email.sent", "focus.session"]
EVENT_SHARES = [0.25, 0.2, 0.2, 0.15, 0.1, 0.1]
INTENTS = [
    "Write the quarterly report", "Review the hiring pipeline", "Prepare the tax documents",
    "Fix the login bug on the mobile app", "Plan the team offsite", "Migrate the blog to the new host",
    "Research pricing for the new tier", "Clean up the support inbox",
]  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# The history, drawn from the seed (nothing written yet).
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedTask:
    ref: str
    day: date
    title: str
    tag: str
    estimate: int
    status: str  # done | scheduled | cancelled
    deadline: datetime | None
    block: Span | None
    block_status: str  # done | deleted
    created_at: datetime
    completed_at: datetime | None
    in_plan: bool  # attached to its week's first plan


@dataclass(frozen=True)
class SeedRun:
    task_ref: str | None
    kind: str
    subject: str
    status: str
    start: datetime
    minutes: int
    estimate: int


@dataclass(frozen=True)
class SeedEvent:
    event_type: str
    subject: str
    at: datetime


@dataclass(frozen=True)
class SeedPlan:
    week: str
    intent: str
    created_at: datetime


@dataclass
class History:
    first: date
    last: date
    tasks: list[SeedTask] = field(default_factory=list)
    runs: list[SeedRun] = field(default_factory=list)
    events: list[SeedEvent] = field(default_factory=list)
    plans: list[SeedPlan] = field(default_factory=list)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=offset) for offset in range((self.last - self.first).days + 1)]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock time of `day` in Europe/Berlin, in UTC."""
    return datetime.combine(day, clock(hour, minute), tzinfo=ZONE).astimezone(UTC)


def make_history(days: int, seed: int, *, today: date) -> History:
    rng = random.Random(seed)
    history = History(first=today - timedelta(days=days), last=today - timedelta(days=1))
    for day in history.days:
        if day.weekday() < 5:
            tasks = day_tasks(rng, day)
            history.tasks += tasks
            history.runs += day_runs(rng, day, tasks)
        history.events += day_events(rng, day)
    history.plans = week_plans(rng, history.days)
    return history


def day_tasks(rng: random.Random, day: date) -> list[SeedTask]:
    """5-7 tasks laid out from 09:00 with 15 minutes between them, around lunch, up to 17:00."""
    tasks, cursor = [], local(day, 9)
    lunch, end = (local(day, 12), local(day, 13)), local(day, 17)
    for index in range(rng.randint(5, 7)):
        tag, estimate = rng.choice(list(TAGS)), rng.choice(ESTIMATES)
        if cursor < lunch[1] and cursor + timedelta(minutes=estimate) > lunch[0]:
            cursor = lunch[1]
        block_end = min(cursor + timedelta(minutes=estimate), end)
        block = Span(cursor, block_end) if block_end - cursor >= timedelta(minutes=15) else None
        cursor = block_end + timedelta(minutes=15)
        draw = rng.random()
        status = "done" if draw < 0.7 else "cancelled" if draw < 0.75 else "scheduled"
        finished = (block.end if block else end) + timedelta(minutes=rng.randint(0, 20))
        tasks.append(
            SeedTask(
                ref=f"bench:{day.isoformat()}:{index}", day=day, title=f"{tag.capitalize()} task {index + 1}",
                tag=tag, estimate=estimate, status=status,
                deadline=end if rng.random() < 0.4 else None, block=block,
                block_status="deleted" if rng.random() < 0.05 else "done",
                created_at=local(day, 8) - timedelta(days=rng.randint(0, 3)),
                completed_at=finished if status == "done" else None, in_plan=rng.random() < 0.5,
            )
        )  # fmt: skip
    return tasks


def day_runs(rng: random.Random, day: date, tasks: Sequence[SeedTask]) -> list[SeedRun]:
    """4-8 runs: most of a task with a block (started in it), the rest agent runs without a task."""
    planned = [task for task in tasks if task.block is not None]
    runs = []
    for index in range(rng.randint(4, 8)):
        if planned and rng.random() < 0.85:
            task = rng.choice(planned)
            assert task.block is not None
            factor = TAGS[task.tag] * rng.lognormvariate(0, 0.25)
            status = "succeeded" if task.status == "done" else rng.choice(["failed", "abandoned"])
            kind = "coding" if task.tag == "coding" else "task"
            start = task.block.start + timedelta(minutes=rng.randint(0, 10))
            runs.append(SeedRun(task.ref, kind, task.title, status, start, max(5, round(task.estimate * factor)),
                                task.estimate))  # fmt: skip
        else:
            start = local(day, rng.randint(9, 16), rng.choice([0, 15, 30, 45]))
            estimate = rng.choice([15, 30])
            minutes = max(1, round(estimate * rng.lognormvariate(0, 0.3)))
            runs.append(SeedRun(None, "agent", f"Agent run {index + 1}", "succeeded", start, minutes, estimate))
    return runs


def day_events(rng: random.Random, day: date) -> list[SeedEvent]:
    count = rng.randint(10, 20) if day.weekday() < 5 else rng.randint(0, 2)
    start = local(day, 8)
    return [
        SeedEvent(kind, f"{kind} on {day.isoformat()} #{index}", start + timedelta(minutes=rng.uniform(0, 660)))
        for index, kind in enumerate(rng.choices(EVENT_TYPES, EVENT_SHARES, k=count))
    ]


def week_plans(rng: random.Random, days: Sequence[date]) -> list[SeedPlan]:
    """One or two plans a week, each made at 08:30-08:59 on one of the week's working days in the history."""
    by_week: dict[str, list[date]] = {}
    for day in days:
        if day.weekday() < 5:
            by_week.setdefault(week_of(day), []).append(day)
    plans = []
    for week, working in by_week.items():
        for _ in range(rng.randint(1, 2)):
            made = local(rng.choice(working), 8, rng.randint(30, 59))
            plans.append(SeedPlan(week, rng.choice(INTENTS), made))
    return sorted(plans, key=lambda plan: plan.created_at)


# ---------------------------------------------------------------------------------------------------
# The stack: datastores and the four services.
# ---------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    root: Path
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name, _, _ in SERVICES})
    datastores: Datastores | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def postgres_url(self) -> str:
        assert self.datastores is not None
        return str(self.datastores.env["POSTGRES_URL"])

    def start(self) -> None:
        self.datastores = start_datastores(self.root)
        env = {k: v for k, v in self.datastores.env.items() if not k.startswith(_MORE_PREFIXES)}
        env |= {variable: self.url(name) for name, _, variable in SERVICES}
        env |= {"LLM_ALLOW_MODEL_REQUESTS": "false", "OBSERVER_PUBLIC_BASE_URL": self.url("observer-agent")}
        for name, factory, _ in SERVICES:
            progress(f"starting {name}...")
            self.processes[name] = start_service(
                factory, port=self.ports[name], env=env, root=self.root, log_name=f"{name}.log", profile=None,
                timeout=120,
            )  # fmt: skip

    def rss_mb(self) -> dict[str, float]:
        return {
            name: psutil.Process(process.pid).memory_info().rss / 1_048_576 for name, process in self.processes.items()
        }

    def log_tails(self, lines: int = 15) -> str:
        parts = []
        for name, _, _ in SERVICES:
            log = self.root / f"{name}.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {name}.log (last {len(tail)} lines) ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            stop_process(process, sig=signal.SIGTERM, timeout=60)
        self.processes.clear()
        if self.datastores is not None:
            self.datastores.stop()
            self.datastores = None


@dataclass
class Clients:
    gateway: httpx.AsyncClient
    planner: httpx.AsyncClient
    scheduler: httpx.AsyncClient
    observer: httpx.AsyncClient


@asynccontextmanager
async def clients(stack: Stack) -> AsyncIterator[Clients]:
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)

    def client(name: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=stack.url(name), timeout=60.0, limits=limits)

    opened = Clients(client("memory-gateway"), client("planner-engine"), client("scheduler-engine"),
                     client("observer-agent"))  # fmt: skip
    try:
        yield opened
    finally:
        for each in (opened.gateway, opened.planner, opened.scheduler, opened.observer):
            await each.aclose()


def checked(response: httpx.Response) -> Json:
    if response.is_error:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url} answered {response.status_code}: {response.text[:500]}")
    body: Json = response.json()
    return body


async def check_ready(observer: httpx.AsyncClient) -> None:
    """The observer reaches the three services it reads (its /readyz names each)."""
    ready = (await observer.get("/readyz")).json()
    states = {dependency["name"]: dependency["status"] for dependency in ready.get("dependencies", [])}
    down = {name: state for name, state in states.items() if state != "ok"}
    if down:
        raise RuntimeError(f"observer-agent /readyz: not ok: {down}")


# ---------------------------------------------------------------------------------------------------
# Seeding: the history written through the APIs (and in SQL where the APIs only write the present).
# ---------------------------------------------------------------------------------------------------


@dataclass
class Seeding:
    seconds: dict[str, float] = field(default_factory=dict)
    _lap: float = field(default_factory=time.perf_counter)

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = now - self._lap
        self._lap = now
        progress(f"seeded {step} in {self.seconds[step]:.1f} s")


async def seed(stack: Stack, c: Clients, history: History) -> Seeding:
    seeding = Seeding()
    checked(await c.scheduler.put(f"/v1/profiles/{USER}", json={"time_zone": ZONE.key}))
    seeding.lap("profile")
    plan_ids = await create_plans(c.planner, history)
    seeding.lap("plans")
    task_ids = await import_tasks(c.planner, history, plan_ids)
    seeding.lap("tasks")
    await record_runs(c.planner, history, task_ids)
    seeding.lap("executions")
    await log_events(c.gateway, history)
    seeding.lap("events")
    conn = await asyncpg.connect(stack.postgres_url)
    try:
        await insert_blocks(conn, history, task_ids, plan_ids)
        seeding.lap("blocks (SQL)")
        await backdate(conn, history, task_ids, plan_ids)
        seeding.lap("backdating (SQL)")
    finally:
        await conn.close()
    return seeding


async def create_plans(planner: httpx.AsyncClient, history: History) -> dict[str, list[str]]:
    """Week -> the ids of its plans, in order."""
    bodies = [{"user_id": USER, "intent": plan.intent, "planner": "offline"} for plan in history.plans]
    result = await timed([post(planner, "/v1/plans", body) for body in bodies], concurrency=2, keep=True)
    by_week: dict[str, list[str]] = {}
    for plan, answer in zip(history.plans, result.answers, strict=True):
        by_week.setdefault(plan.week, []).append(str(answer["id"]))
    return by_week


def import_item(task: SeedTask, plan_ids: dict[str, list[str]]) -> Json:
    item: Json = {
        "external_ref": task.ref, "title": task.title, "estimate_minutes": task.estimate, "tags": [task.tag],
        "status": task.status, "splittable": task.estimate > 60,
    }  # fmt: skip
    if task.deadline is not None:
        item["deadline"] = task.deadline.isoformat()
    of_week = plan_ids.get(week_of(task.day), [])
    if task.in_plan and of_week:
        item["plan_id"] = of_week[0]
    return item


async def import_tasks(planner: httpx.AsyncClient, history: History, plan_ids: dict[str, list[str]]) -> dict[str, str]:
    """External ref -> task id; 100 a call (one transaction each), one call at a time."""
    ids: dict[str, str] = {}
    for start in range(0, len(history.tasks), 100):
        chunk = history.tasks[start : start + 100]
        body = {"user_id": USER, "source": "bench", "tasks": [import_item(task, plan_ids) for task in chunk]}
        answer = checked(await planner.put("/v1/tasks/import", json=body))
        ids |= {result["task"]["external_ref"]: str(result["task"]["id"]) for result in answer["results"]}
    return ids


async def record_runs(planner: httpx.AsyncClient, history: History, task_ids: dict[str, str]) -> None:
    bodies = [
        {
            "user_id": USER, "run_kind": run.kind, "task_id": task_ids[run.task_ref] if run.task_ref else None,
            "subject": run.subject, "status": run.status, "started_at": run.start.isoformat(),
            "finished_at": (run.start + timedelta(minutes=run.minutes)).isoformat(),
            "estimated_minutes": run.estimate, "actual_minutes": run.minutes,
        }
        for run in history.runs
    ]  # fmt: skip
    await timed([post(planner, "/v1/executions", body) for body in bodies], concurrency=8)


async def log_events(gateway: httpx.AsyncClient, history: History) -> None:
    items = [
        {"event_type": e.event_type, "subject": e.subject, "source": "bench", "occurred_at": e.at.isoformat()}
        for e in history.events
    ]
    bodies = [{"user_id": USER, "events": items[start : start + 100]} for start in range(0, len(items), 100)]
    await timed([post(gateway, "/v1/events/batch", body) for body in bodies], concurrency=2)


async def insert_blocks(
    conn: asyncpg.Connection, history: History, task_ids: dict[str, str], plan_ids: dict[str, list[str]]
) -> None:
    """The blocks, under one succeeded run that spans the history (bench setup: see the docstring)."""
    window = days_span(history.first, history.last, ZONE)
    run_id = await conn.fetchval(
        "INSERT INTO scheduler_runs (user_id, status, window_start, window_end, started_at, finished_at, created_at,"
        " calendar_synced_at) VALUES ($1, 'succeeded', $2, $3, $2, $2, $2, now()) RETURNING id",
        USER, window.start, window.end,
    )  # fmt: skip
    records = []
    for task in history.tasks:
        if task.block is None:
            continue
        of_week = plan_ids.get(week_of(task.day), [])
        plan_id = of_week[0] if task.in_plan and of_week else None
        records.append((USER, run_id, plan_id, task_ids[task.ref], task.title, task.block.start, task.block.end,
                        task.block_status, task.created_at, task.block.end))  # fmt: skip
    columns = ["user_id", "run_id", "plan_id", "task_id", "title", "start_at", "end_at", "status", "created_at",
               "updated_at"]  # fmt: skip
    await conn.executemany(
        f"INSERT INTO calendar_blocks ({', '.join(columns)}) VALUES ($1, $2, $3::uuid, $4::uuid, $5, $6, $7, $8, $9,"
        " $10)",
        records,
    )


async def backdate(
    conn: asyncpg.Connection, history: History, task_ids: dict[str, str], plan_ids: dict[str, list[str]]
) -> None:
    """Tasks done on their day, plans made on theirs (bench setup: see the docstring). Triggers are off for
    this transaction only, so completed_at is not reset to now() and updated_at not touched."""
    tasks = [
        (task_ids[t.ref], t.created_at, t.completed_at or t.created_at, t.completed_at)
        for t in history.tasks
    ]  # fmt: skip
    plans = [
        (plan_id, plan.created_at)
        for week, ids in plan_ids.items()
        for plan_id, plan in zip(ids, [p for p in history.plans if p.week == week], strict=True)
    ]
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.executemany(
            "UPDATE tasks SET created_at = $2, updated_at = $3, completed_at = $4 WHERE id = $1::uuid", tasks
        )
        await conn.executemany("UPDATE plans SET created_at = $2, updated_at = $2 WHERE id = $1::uuid", plans)
        # The offline planner's own tasks of each plan: made with it.
        await conn.executemany(
            "UPDATE tasks SET created_at = $2, updated_at = $2 WHERE plan_id = $1::uuid AND external_ref IS NULL",
            plans,
        )


# ---------------------------------------------------------------------------------------------------
# Measuring.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    kind: str  # daily | weekly
    mode: str  # cold | rerun
    concurrency: int
    periods: list[str]
    result: Timed


def reflect(observer: httpx.AsyncClient, kind: str, period: str) -> Call:
    field_name = "date" if kind == "daily" else "week"
    return post(observer, f"/v1/reflections/{kind}", {"user_id": USER, field_name: period})


def daily_periods(history: History) -> list[str]:
    return [day.isoformat() for day in history.days]


def weekly_periods(history: History) -> list[str]:
    return sorted({week_of(day) for day in history.days})


def choose(
    periods: Sequence[str], recent: int, warmup: int, runs: int, rng: random.Random
) -> tuple[list[str], list[str]]:
    """(warmup, cold): distinct periods, oldest first. The cold ones are drawn from the `recent` latest;
    the warm-up ones precede them (older periods when the history has them, else the pool's oldest)."""
    pool, older = list(periods[-recent:]), list(periods[:-recent])
    warm = older[len(older) - min(warmup, len(older)) :]
    missing = warmup - len(warm)
    warm, pool = warm + pool[:missing], pool[missing:]
    if not pool:
        raise SystemExit(f"{len(periods)} periods leave none to measure after {warmup} warm-up ones: more --days")
    return warm, sorted(rng.sample(pool, min(runs, len(pool))))


async def measure(observer: httpx.AsyncClient, history: History, args: argparse.Namespace) -> list[Row]:
    rng = random.Random(args.seed)
    rows: list[Row] = []
    for kind, periods, recent in (
        ("daily", daily_periods(history), RECENT_DAYS),
        ("weekly", weekly_periods(history), RECENT_WEEKS),
    ):
        warm, cold = choose(periods, recent, args.warmup, args.runs, rng)
        await timed([reflect(observer, kind, period) for period in warm], concurrency=1)
        rows.append(await measured(observer, kind, "cold", cold, concurrency=1))
        rerun = list(islice(cycle(cold), args.runs))
        rows.append(await measured(observer, kind, "rerun", rerun, concurrency=1))
    if not args.skip_concurrency:
        rows.append(await measured(observer, "daily", "rerun", rows[1].periods, concurrency=4))
    return rows


async def measured(observer: httpx.AsyncClient, kind: str, mode: str, periods: list[str], *, concurrency: int) -> Row:
    result = await timed([reflect(observer, kind, p) for p in periods], concurrency=concurrency, keep=True)
    p50, p95, _ = result.percentiles()
    progress(f"{kind} {mode} c={concurrency}: {len(periods)} builds, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    return Row(kind, mode, concurrency, periods, result)


def reflection_of(answer: Json) -> Json:
    reflections: list[Json] = answer["reflections"]
    if len(reflections) != 1:
        raise RuntimeError(f"expected one reflection, got {len(reflections)}; failed: {answer.get('failed')}")
    return reflections[0]


# ---------------------------------------------------------------------------------------------------
# Sizes: what each reflection reads (from the seed) and what its metrics counted (from the responses).
# ---------------------------------------------------------------------------------------------------


def read_window(kind: str, period: str) -> Span:
    """The local days the observer gathers for a reflection (domain/reflections.py)."""
    if kind == "daily":
        day = date.fromisoformat(period)
        return days_span(day, day, ZONE)
    last = week_days(period)[-1]
    return days_span(last - timedelta(days=INSIGHT_WINDOW_DAYS - 1), last, ZONE)


def window_sizes(history: History, span: Span) -> dict[str, int]:
    def inside(moment: datetime | None) -> bool:
        return moment is not None and span.start <= moment < span.end

    blocks = [t for t in history.tasks if t.block and t.block.start < span.end and t.block.end > span.start]
    runs = [run for run in history.runs if inside(run.start)]
    tasks = {t.ref for t in history.tasks if inside(t.completed_at) or inside(t.deadline)}
    tasks |= {t.ref for t in blocks} | {run.task_ref for run in runs if run.task_ref}
    events = sum(1 for event in history.events if inside(event.at))
    return {
        "blocks": len(blocks), "executions": len(runs), "tasks": len(tasks), "events": events,
        "events read": min(events, EVENTS_READ_LIMIT), "plans": sum(1 for p in history.plans if inside(p.created_at)),
    }  # fmt: skip


def metric_sizes(reflection: Json) -> dict[str, int]:
    metrics = reflection["metrics"]
    figures = metrics if reflection["kind"] == "daily" else metrics["totals"]
    return {
        "executions": figures["executions"], "tasks planned": figures["tasks_planned"],
        "tasks done": figures["tasks_done"] + figures["tasks_done_unplanned"],
        "events": sum(figures["events"].values()), "plans": figures["plans_created"],
    }  # fmt: skip


def mean_of(counts: Sequence[dict[str, int]]) -> dict[str, float]:
    return {key: sum(c[key] for c in counts) / len(counts) for key in counts[0]}


# ---------------------------------------------------------------------------------------------------
# The report.
# ---------------------------------------------------------------------------------------------------


@dataclass
class Report:
    history: History
    seeding: Seeding
    rows: list[Row]
    rss_before: dict[str, float]
    rss_after: dict[str, float]


def row_note(row: Row) -> str:
    reflections = [reflection_of(answer) for answer in row.result.answers]
    distinct = len(set(row.periods))
    sources = Counter(r["narrative_source"] for r in reflections)
    unchanged = sum(1 for r in reflections if r["revision"] == 1)
    if row.mode == "cold":
        note = f"{distinct} distinct periods, first builds"
    else:
        note = f"{distinct} periods; {unchanged}/{len(reflections)} unchanged (revision 1)"
    return note + "; narrative " + ", ".join(f"{name} {count}" for name, count in sorted(sources.items()))


def timings_table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| reflection | build | concurrency | requests | p50 (ms) | p95 (ms) | p99 (ms) | per second | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        p50, p95, p99 = row.result.percentiles()
        lines.append(
            f"| {row.kind} | {row.mode} | {row.concurrency} | {len(row.periods)} | {p50:.1f} | {p95:.1f} | {p99:.1f} "
            f"| {row.result.per_second:.1f} | {row_note(row)} |"
        )
    return lines


def sizes_table(history: History, rows: Sequence[Row]) -> list[str]:
    lines = [
        "| reflection | window read | blocks | executions | tasks | events in the window / returned | plans "
        "| metrics: executions, tasks planned, tasks done, events, plans |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if row.mode != "cold":
            continue
        read = mean_of([window_sizes(history, read_window(row.kind, period)) for period in row.periods])
        counted = mean_of([metric_sizes(reflection_of(answer)) for answer in row.result.answers])
        days = "1 day" if row.kind == "daily" else f"{INSIGHT_WINDOW_DAYS} days"
        lines.append(
            f"| {row.kind} (mean of {len(row.periods)}) | {days} | {read['blocks']:.1f} | {read['executions']:.1f} "
            f"| {read['tasks']:.1f} | {read['events']:.1f} / {read['events read']:.1f} | {read['plans']:.1f} "
            f"| {', '.join(f'{value:.1f}' for value in counted.values())} |"
        )
    return lines


def warnings_seen(rows: Sequence[Row]) -> list[str]:
    seen: Counter[str] = Counter()
    for row in rows:
        for answer in row.result.answers:
            seen.update(reflection_of(answer)["warnings"])
    return [f"- {count} x `{text}`" for text, count in seen.most_common()] or ["- none"]


def goals(rows: Sequence[Row]) -> list[str]:
    lines = []
    for row in rows:
        if row.concurrency != 1:
            continue
        p95 = row.result.percentiles()[1]
        verdict = "met" if p95 < BUDGET_P95_MS else "MISSED"
        lines.append(f"- {row.kind} {row.mode}, p95 < {BUDGET_P95_MS:.0f} ms: {verdict} ({p95:.1f} ms)")
    return lines


def rss_table(report: Report) -> list[str]:
    lines = ["| service | RSS after seeding (MB) | RSS after measuring (MB) |", "|---|---:|---:|"]
    for name, _, _ in SERVICES:
        before, after = report.rss_before.get(name, float("nan")), report.rss_after.get(name, float("nan"))
        lines.append(f"| {name} | {before:.0f} | {after:.0f} |")
    return lines


def render(report: Report, args: argparse.Namespace) -> str:
    h, s = report.history, report.seeding
    blocks = sum(1 for t in h.tasks if t.block is not None)
    steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in s.seconds.items())
    lines = [
        f"User {USER} ({ZONE.key}), {args.days} days of history {h.first} .. {h.last}, seed {args.seed}: "
        f"{len(h.tasks)} tasks, {blocks} blocks, {len(h.runs)} executions, {len(h.events)} events, "
        f"{len(h.plans)} plans. Seeded in {sum(s.seconds.values()):.1f} s ({steps}).",
        "",
        f"Offline narrative, Coda unconfigured; client-side latency over HTTP; {args.warmup} untimed builds "
        "before each kind.",
        "",
        *timings_table(report.rows),
        "",
        "Records per reflection, means over the cold builds: in the window it reads (from the seed; blocks "
        "include deleted ones, tasks are those done or due in the window or named by a block or a run) and "
        "what its metrics counted (a weekly's: the week's totals).",
        "",
        *sizes_table(h, report.rows),
        "",
        "Warnings in the reflections:",
        *warnings_seen(report.rows),
        "",
        *rss_table(report),
        "",
        "Against the goal:",
        *goals(report.rows),
    ]
    return "\n".join(lines)


async def run(stack: Stack, args: argparse.Namespace) -> Report:
    history = make_history(args.days, args.seed, today=datetime.now(UTC).date())
    async with clients(stack) as c:
        await check_ready(c.observer)
        seeding = await seed(stack, c, history)
        rss_before = stack.rss_mb()
        rows = await measure(c.observer, history, args)
        rss_after = stack.rss_mb()
    return Report(history, seeding, rows, rss_before, rss_after)


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pma-bench-") as root:
        stack = Stack(Path(root))
        try:
            stack.start()
            report = asyncio.run(run(stack, args))
        except BaseException:
            progress(stack.log_tails())
            raise
        finally:
            stack.stop()
    print(render(report, args))
    # Other processes on the machine skew every figure: the load average says how busy it was.
    print(
        f"\ntotal {time.perf_counter() - started:.0f} s on {os.cpu_count()} CPUs; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90, help="days of history, ending yesterday (UTC)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=30, help="timed reflections per row")
    parser.add_argument("--warmup", type=int, default=2, help="untimed builds before each kind")
    parser.add_argument("--skip-concurrency", action="store_true", help="leave out the daily row at concurrency 4")
    args = parser.parse_args()
    if args.days < 2 or args.runs < 1 or args.warmup < 0:
        parser.error("--days must be at least 2, --runs at least 1, --warmup not negative")
    return args


if __name__ == "__main__":
    main(parse_args())
