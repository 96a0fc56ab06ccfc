"""The scheduler's placers on seeded instances: greedy alone, CP-SAT at 2 s and 5 s, and how much a replan
moves; then the HTTP intake of the service. Prints Markdown tables.

    uv run python bench/scheduler.py [--sizes 50,100,200,400] [--seed 7] [--weeks-per-50 2] [--skip-http]

Each instance is one user in Europe/Berlin (Mon-Fri 09:00-17:00, lunch 12:00-13:00, a 15-minute buffer,
a 4-hour daily focus cap), with 2-4 one-hour meetings a working day as busy time, and tasks that fill
about 60% of the free time (lengths drawn from 15-180 minutes, then scaled to that load: about 15-120),
60% splittable, 15% depending on an earlier task, mixed priorities, a deadline for about half (a fifth
of those hard), a tenth with an earliest start.

Two weeks hold about 40 hours of free time, so at 60% load they take about 50 tasks of half an hour on
average; a bigger instance gets a longer window at the same density (`--weeks-per-50`: weeks of window
per 50 tasks), so the rows differ in size, not in how crowded the calendar is.

The objective is lexicographic (scheduling_objective.py): unscheduled >> late tasks >> weighted
tardiness >> moves >> earliness. CP-SAT's bound at 5 s is a lexicographic lower bound of the first levels
(solver.Bound): "proved" says whose (unscheduled, late, tardiness) it proves optimal.

The replan: the CP-SAT 5 s answer becomes the previous blocks (none fixed), one 2-hour meeting is added
in the afternoon of the first working day, and CP-SAT (2 s) replans with the move penalty and without it
(`move_penalty=0`, a replan from scratch); "moved" is the share of previous blocks whose task has no
block at the same start. CP-SAT runs with 8 workers (as in production) and a fixed seed, on however many
cores the machine has.

The HTTP intake (skipped with `--skip-http`): the embedded stack of bench/harness.py (Postgres migrated,
Valkey) with a memory-gateway (the scheduler's readiness needs it) and the scheduler-engine in uvicorn
processes of their own; the planner-engine it reports to is a closed port (it retries later). The
latency is the time until the `ScheduleAccepted` answer (202) arrives; the service solves each request in
its background (SCHEDULER_TIME_LIMIT_SECONDS 2, SCHEDULER_NUM_WORKERS 8, in a thread of its process, on
the same cores): `--posts` requests per row after `--warmup` untimed ones, "at rest" (each once the one
before finished solving) and "back to back" (no wait: the solves pile up; the table says how many were
solving when a request came, from the runs' own times, and the load average). Hand-overs (`POST
/v1/schedule`) are each their own plan with idempotency key `plan:<id>:r1`, user "bench"; a
ScheduleRequest holds at most MAX_TASKS (100) tasks, so a 200-task one is a 422: that row sends 100,
and `POST /v1/runs` (the same intake, up to 500 inline tasks) the 200.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
from harness import Datastores, start_datastores, start_service  # type: ignore[import-not-found]

from pma_core.contracts.tasks import MAX_TASKS
from pma_core.embedded.process import free_port, stop_process
from scheduler_engine.domain.calendar_time import free_time
from scheduler_engine.domain.greedy import greedy
from scheduler_engine.domain.models import (
    PRIORITY_WEIGHT,
    ExistingBlock,
    Interval,
    Priority,
    Problem,
    Profile,
    Solution,
    TaskToPlace,
)
from scheduler_engine.domain.scheduling_objective import MOVE_PENALTY, Levels, levels_of
from scheduler_engine.domain.solver import Bound, solve, solve_with_bound

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 2, tzinfo=ZONE)  # a Monday; the window crosses the change to summer time
PROFILE = Profile(user_id="bench", time_zone="Europe/Berlin", buffer_minutes=15, daily_focus_cap_minutes=240)
LOAD = 0.6
PRIORITIES: list[Priority] = ["low", "normal", "high", "urgent"]
PRIORITY_SHARES = [0.2, 0.5, 0.2, 0.1]
MINUTES = [15, 30, 45, 60, 90, 120, 180]
MINUTE_SHARES = [0.25, 0.3, 0.15, 0.15, 0.08, 0.05, 0.02]
WORKERS = 8
BUDGET_INTAKE_MS = 50.0
HTTP_TASKS = 200
HTTP_SOLVE_SECONDS = 2.0  # the service's time limit in the HTTP part: what a request may wait behind


@dataclass(frozen=True)
class Instance:
    problem: Problem
    busy: list[Interval]
    load: float


@dataclass(frozen=True)
class Quality:
    late: int
    tardiness: int  # minutes late x priority weight
    unscheduled: int
    levels: Levels  # the objective's own (tardiness in weighted slots, against the grid's deadline slot)


@dataclass(frozen=True)
class Row:
    tasks: int
    weeks: int
    load: float
    greedy_ms: float
    first_solution_s: float | None  # CP-SAT's first solution, counted from the call of solve()
    greedy: Quality
    at_2s: Quality
    at_5s: Quality
    status_2s: str
    status_5s: str
    bound_5s: Bound | None
    moved_with_penalty: float
    moved_without: float
    moved_unchanged: float  # the same problem replanned: what the search itself moves


def instance(size: int, *, weeks: int, seed: int) -> Instance:
    rng = random.Random(seed * 1000 + size)
    window = Interval(START.astimezone(UTC), (START + timedelta(weeks=weeks)).astimezone(UTC))
    busy = meetings(rng, window)
    free, days = free_time(PROFILE, window, busy, now=window.start)
    free_minutes = sum(part.minutes for part in free)
    tasks = make_tasks(rng, size, window, free_minutes)
    problem = Problem(
        now=window.start, window=window, tasks=tuple(tasks), free=free, days=days,
        buffer_minutes=PROFILE.buffer_minutes, min_chunk_minutes=PROFILE.min_chunk_minutes,
        max_chunk_minutes=PROFILE.max_chunk_minutes,
    )  # fmt: skip
    return Instance(problem, busy, sum(task.minutes for task in tasks) / free_minutes)


def meetings(rng: random.Random, window: Interval) -> list[Interval]:
    """2-4 one-hour meetings every working day, starting on the hour or half hour between 09:00 and 16:00."""
    busy = []
    day = window.start.astimezone(ZONE).date()
    while (start_of_day := datetime.combine(day, clock(0), tzinfo=ZONE)) < window.end:
        if day.weekday() < 5:
            for half_hour in rng.sample(range(18, 32), rng.randint(2, 4)):
                start = start_of_day.replace(hour=half_hour // 2, minute=30 * (half_hour % 2))
                busy.append(Interval(start.astimezone(UTC), (start + timedelta(hours=1)).astimezone(UTC)))
        day += timedelta(days=1)
    return busy


def make_tasks(rng: random.Random, size: int, window: Interval, free_minutes: int) -> list[TaskToPlace]:
    minutes = rng.choices(MINUTES, MINUTE_SHARES, k=size)
    scale = LOAD * free_minutes / sum(minutes)  # stretch or shrink to the load, in whole quarter hours
    minutes = [max(15, 15 * round(m * scale / 15)) for m in minutes]
    span = window.end - window.start
    tasks: list[TaskToPlace] = []
    for index, length in enumerate(minutes):
        deadline = window.start + span * rng.uniform(0.15, 1.0) if rng.random() < 0.5 else None
        earliest = window.start + span * rng.uniform(0.0, 0.4) if rng.random() < 0.1 else None
        depends = (tasks[rng.randrange(index)].id,) if index and rng.random() < 0.15 else ()
        tasks.append(
            TaskToPlace(
                id=uuid.UUID(int=rng.getrandbits(128)),
                title=f"task {index}",
                minutes=length,
                priority=rng.choices(PRIORITIES, PRIORITY_SHARES)[0],
                earliest_start=earliest,
                deadline=deadline,
                hard_deadline=deadline is not None and rng.random() < 0.2,
                depends_on=depends,
                splittable=rng.random() < 0.6,
            )
        )
    return tasks


def quality(problem: Problem, solution: Solution) -> Quality:
    by_id = {task.id: task for task in problem.tasks}
    late = tardiness = unscheduled = 0
    for outcome in solution.outcomes:
        task = by_id[outcome.task_id]
        if outcome.expected_finish is None:
            unscheduled += 1
        elif task.deadline is not None and outcome.expected_finish > task.deadline:
            late += 1
            minutes = (outcome.expected_finish - task.deadline).total_seconds() / 60
            tardiness += round(minutes) * PRIORITY_WEIGHT[task.priority]
    return Quality(late, tardiness, unscheduled, levels_of(problem, solution.blocks))


def replanned(item: Instance, previous: Solution, seed: int) -> tuple[float, float, float]:
    """Moved shares after a 2-hour meeting on the first working day (with the penalty, without it) and,
    for comparison, with the penalty and no change at all."""
    blocks = tuple(ExistingBlock(uuid.uuid4(), block.task_id, block.start, block.end) for block in previous.blocks)
    if not blocks:
        return 0.0, 0.0, 0.0
    problem = item.problem
    meeting_start = datetime.combine(START.date(), clock(14), tzinfo=ZONE).astimezone(UTC)
    busy = [*item.busy, Interval(meeting_start, meeting_start + timedelta(hours=2))]
    free, days = free_time(PROFILE, problem.window, busy, now=problem.now)
    changed = replace(problem, free=free, days=days, previous=blocks)
    runs = [(changed, MOVE_PENALTY), (changed, 0), (replace(problem, previous=blocks), MOVE_PENALTY)]
    shares = []
    for replan, penalty in runs:
        answer = solve(replan, time_limit_seconds=2.0, random_seed=seed, num_workers=WORKERS, move_penalty=penalty)
        shares.append(answer.moved / len(blocks))
    return shares[0], shares[1], shares[2]


def measure(size: int, args: argparse.Namespace) -> Row:
    weeks = max(1, math.ceil(args.weeks_per_50 * size / 50))
    item = instance(size, weeks=weeks, seed=args.seed)
    started = time.perf_counter()
    alone = greedy(item.problem)
    greedy_ms = (time.perf_counter() - started) * 1000
    first: list[float] = []
    at_2s = solve(item.problem, time_limit_seconds=2.0, random_seed=args.seed, num_workers=WORKERS,
                  on_solution=lambda seconds, _: first.append(seconds))  # fmt: skip
    at_5s, bound = solve_with_bound(item.problem, time_limit_seconds=5.0, random_seed=args.seed, num_workers=WORKERS)
    moved = replanned(item, at_5s, args.seed)
    return Row(
        size, weeks, item.load, greedy_ms, first[0] if first else None,
        quality(item.problem, alone), quality(item.problem, at_2s), quality(item.problem, at_5s),
        at_2s.status, at_5s.status, bound, *moved,
    )  # fmt: skip


def tables(rows: list[Row], args: argparse.Namespace, seconds: float) -> str:
    lines = [
        f"seed {args.seed}; {args.weeks_per_50:g} weeks of window per 50 tasks; CP-SAT with {WORKERS} workers on "
        f"{os.cpu_count()} CPUs; total {seconds:.0f} s",
        "",
        "| tasks | weeks | load | greedy (ms) | CP-SAT first solution (s) | late: greedy / 2 s / 5 s "
        "| weighted tardiness (min x weight): greedy / 2 s / 5 s | unscheduled: greedy / 2 s / 5 s |",
        "|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        first = f"{r.first_solution_s:.2f}" if r.first_solution_s is not None else "none in 2 s"
        qualities = (r.greedy, r.at_2s, r.at_5s)
        lines.append(
            f"| {r.tasks} | {r.weeks} | {r.load:.0%} | {r.greedy_ms:.1f} | {first} "
            f"| {' / '.join(str(q.late) for q in qualities)} | {' / '.join(f'{q.tardiness:,}' for q in qualities)} "
            f"| {' / '.join(str(q.unscheduled) for q in qualities)} |"
        )
    lines += [
        "",
        "Levels in the objective's units (scheduling_objective.py): unscheduled in weighted slots, tardiness in "
        "weighted slots past the deadline's slot. The bound is CP-SAT's at 5 s, a lexicographic lower bound of "
        "(unscheduled, late, tardiness); proved: whose levels it meets. Earliness: weighted finish slots. "
        f"Moved: share of previous blocks not kept at their start (move penalty {MOVE_PENALTY} / 0).",
        "",
        "| tasks | status: 2 s / 5 s | greedy: unscheduled, late, tardiness | 5 s: unscheduled, late, tardiness "
        "| bound (5 s) | proved | earliness: greedy / 5 s | moved after the meeting: with penalty / without "
        "| moved with no change (penalty) |",
        "|---:|---|---|---|---|---|---:|---|---:|",
    ]
    for r in rows:
        proved = "-"
        bound = "-"
        if r.bound_5s is not None:
            lower = r.bound_5s.levels.key()[:3]
            bound = ", ".join(f"{value:,}" for value in lower)
            found = [name for name, q in (("greedy", r.greedy), ("5 s", r.at_5s)) if q.levels.key()[:3] == lower]
            proved = " and ".join(found) if found else "no"
        lines.append(
            f"| {r.tasks} | {r.status_2s} / {r.status_5s} | {_levels(r.greedy.levels)} | {_levels(r.at_5s.levels)} "
            f"| {bound} | {proved} | {r.greedy.levels.earliness:,} / {r.at_5s.levels.earliness:,} "
            f"| {r.moved_with_penalty:.0%} / {r.moved_without:.0%} | {r.moved_unchanged:.0%} |"
        )
    return "\n".join(lines)


def _levels(levels: Levels) -> str:
    return f"{levels.unscheduled:,}, {levels.late:,}, {levels.tardiness:,}"


# ---------------------------------------------------------------------------------------------------
# The HTTP intake: the service answers a hand-over at once and solves it in the background.
# ---------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """Postgres and Valkey in `root`; the memory-gateway and scheduler-engine processes."""

    root: Path
    gateway_port: int = field(default_factory=free_port)
    scheduler_port: int = field(default_factory=free_port)
    datastores: Datastores | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def scheduler_url(self) -> str:
        return f"http://127.0.0.1:{self.scheduler_port}"

    def start(self) -> None:
        self.datastores = start_datastores(self.root)
        # The shell's scheduler and Google settings would change what is measured: the bench sets its own.
        env = {k: v for k, v in self.datastores.env.items() if not k.startswith(("SCHEDULER_", "GOOGLE_"))}
        env |= {
            "MEMORY_GATEWAY_URL": f"http://127.0.0.1:{self.gateway_port}",
            # The planner the scheduler reports to is down: the report waits for the sweep, as in production.
            "PLANNER_ENGINE_URL": f"http://127.0.0.1:{free_port()}",
            "SCHEDULER_TIME_LIMIT_SECONDS": str(HTTP_SOLVE_SECONDS),
            "SCHEDULER_NUM_WORKERS": str(WORKERS),
            "SCHEDULER_RANDOM_SEED": "7",
        }
        for name, factory, port in (
            ("memory-gateway", "memory_gateway.main:app_from_env", self.gateway_port),
            ("scheduler-engine", "scheduler_engine.main:app_from_env", self.scheduler_port),
        ):
            self.processes[name] = start_service(
                factory, port=port, env=env, root=self.root, log_name=f"{name}.log", profile=None, timeout=120
            )

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            stop_process(process, sig=signal.SIGTERM, timeout=60)
        self.processes.clear()
        if self.datastores is not None:
            self.datastores.stop()


@dataclass(frozen=True)
class IntakeRow:
    what: str
    tasks: int
    mode: str  # "at rest": each request once the one before finished solving; "back to back": no wait
    latencies_ms: list[float]
    in_flight: int  # the most runs still solving when a request came (from the runs' created and finished times)
    load_before: float
    load_after: float


def http_tasks(rng: random.Random, count: int, now: datetime) -> list[dict[str, Any]]:
    """`count` tasks as the planner hands them over, drawn as in the instances and moved to start now."""
    weeks = max(1, math.ceil(2 * count / 50))
    window = Interval(START.astimezone(UTC), (START + timedelta(weeks=weeks)).astimezone(UTC))
    free, _ = free_time(PROFILE, window, meetings(rng, window), now=window.start)
    tasks = make_tasks(rng, count, window, sum(part.minutes for part in free))
    shift = now - window.start
    ids = {task.id: uuid.UUID(int=rng.getrandbits(128)) for task in tasks}
    # The API refuses a deadline that is not after the earliest start (the domain takes it: such a task is
    # late whatever happens): those tasks go without their earliest start.
    tasks = [
        replace(task, earliest_start=None) if _window_refused(task) else task for task in tasks
    ]  # fmt: skip
    return [
        {
            "id": str(ids[task.id]), "title": task.title, "estimate_minutes": task.minutes, "priority": task.priority,
            "earliest_start": (task.earliest_start + shift).isoformat() if task.earliest_start else None,
            "deadline": (task.deadline + shift).isoformat() if task.deadline else None,
            "depends_on": [str(ids[dependency]) for dependency in task.depends_on],
            "splittable": task.splittable, "min_chunk_minutes": None, "tags": [],
        }
        for task in tasks
    ]  # fmt: skip


def _window_refused(task: TaskToPlace) -> bool:
    return task.earliest_start is not None and task.deadline is not None and task.deadline <= task.earliest_start


def hand_over(rng: random.Random, now: datetime) -> tuple[str, dict[str, Any], dict[str, str]]:
    plan_id = uuid.UUID(int=rng.getrandbits(128))
    body = {
        "user_id": "bench", "plan_id": str(plan_id), "plan_revision": 1,
        "tasks": http_tasks(rng, min(HTTP_TASKS, MAX_TASKS), now), "due_at": None, "constraints": {},
        "idempotency_key": f"plan:{plan_id}:r1",
    }  # fmt: skip
    return "/v1/schedule", body, {}


def run_request(rng: random.Random, now: datetime) -> tuple[str, dict[str, Any], dict[str, str]]:
    run_id = uuid.UUID(int=rng.getrandbits(128))
    weeks = max(1, math.ceil(2 * HTTP_TASKS / 50))
    # A RunTask is a SchedulableTask without tags.
    tasks = [{k: v for k, v in task.items() if k != "tags"} for task in http_tasks(rng, HTTP_TASKS, now)]
    body = {"user_id": "bench", "tasks": tasks, "window_days": 7 * weeks}
    return "/v1/runs", body, {"Idempotency-Key": f"bench-run:{run_id}:r1"}


async def intake(stack: Stack, args: argparse.Namespace) -> list[IntakeRow]:
    rng = random.Random(args.seed)
    rows = []
    async with httpx.AsyncClient(base_url=stack.scheduler_url, timeout=60.0) as client:
        builders = (("POST /v1/schedule (hand-over)", hand_over), ("POST /v1/runs (inline tasks)", run_request))
        for what, build in builders:
            for mode in ("at rest", "back to back"):
                now = datetime.now(UTC)
                requests = [build(rng, now) for _ in range(args.warmup + args.posts)]
                load_before = os.getloadavg()[0]
                latencies, runs = [], list[str]()
                for index, (path, body, headers) in enumerate(requests):
                    if mode == "at rest":
                        await wait_idle(client, runs[-1:])
                    started = time.perf_counter()
                    response = await client.post(path, json=body, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 202:
                        raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:500]}")
                    runs.append(response.json()["run_id"])
                    if index >= args.warmup:
                        latencies.append(elapsed)
                load_after = os.getloadavg()[0]
                await wait_idle(client, runs)  # the next row does not pay for this one's solves
                finished = [await run_read(client, run_id) for run_id in runs]
                if failed := [run["error"] for run in finished if run["status"] not in ("succeeded", "partial")]:
                    raise RuntimeError(f"{len(failed)} runs did not succeed: {failed[:3]}")
                tasks = len(requests[0][1]["tasks"])
                rows.append(IntakeRow(what, tasks, mode, latencies, most_solving(finished), load_before, load_after))
                progress(f"{what}, {mode}: p95 {np.percentile(latencies, 95):.1f} ms")
    return rows


def most_solving(runs: list[dict[str, Any]]) -> int:
    """The most runs that were still solving (created, not finished) when a later one was created."""
    spans = [(datetime.fromisoformat(run["created_at"]), datetime.fromisoformat(run["finished_at"])) for run in runs]
    return max(sum(start <= created < end for start, end in spans[:index]) for index, (created, _) in enumerate(spans))


async def run_read(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/runs/{run_id}", params={"user_id": "bench"})
    response.raise_for_status()
    run: dict[str, Any] = response.json()
    return run


async def run_status(client: httpx.AsyncClient, run_id: str) -> str:
    return str((await run_read(client, run_id))["status"])


async def wait_idle(client: httpx.AsyncClient, runs: list[str], *, seconds: float = 900.0) -> None:
    """Until every one of `runs` finished solving (or `seconds` passed)."""
    deadline = time.monotonic() + seconds
    for run_id in runs:
        while time.monotonic() < deadline:
            if await run_status(client, run_id) not in ("pending", "running"):
                break
            await asyncio.sleep(0.1)


def intake_table(rows: list[IntakeRow], args: argparse.Namespace) -> str:
    lines = [
        f"HTTP intake: {args.posts} requests per row after {args.warmup} untimed, one at a time; each is solved in "
        f"the service's background (SCHEDULER_TIME_LIMIT_SECONDS {HTTP_SOLVE_SECONDS:g}, {WORKERS} workers). At "
        "rest: each request once the one before finished solving; back to back: no wait, the solves pile up. "
        f"Goal: p95 < {BUDGET_INTAKE_MS:.0f} ms.",
        "",
        "| request | tasks | mode | p50 (ms) | p95 (ms) | max (ms) | most runs solving at a request "
        "| 1-minute load average: before / after |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        p50, p95 = np.percentile(r.latencies_ms, [50, 95])
        lines.append(
            f"| {r.what} | {r.tasks} | {r.mode} | {p50:.1f} | {p95:.1f} | {max(r.latencies_ms):.1f} | {r.in_flight} "
            f"| {r.load_before:.1f} / {r.load_after:.1f} |"
        )
    return "\n".join(lines)


def measure_http(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="pma-bench-") as root:
        stack = Stack(Path(root))
        try:
            progress("HTTP intake: starting the embedded stack...")
            stack.start()
            rows = asyncio.run(intake(stack, args))
        finally:
            stack.stop()
    return intake_table(rows, args)


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    rows = []
    for size in args.sizes:
        progress(f"{size} tasks...")
        rows.append(measure(size, args))
    print(tables(rows, args, time.perf_counter() - started))
    # Other processes on the machine skew every figure: the load average says how busy it was.
    print(f"\n1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    if not args.skip_http:
        print("\n" + measure_http(args))


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=ints, default=[50, 100, 200, 400], help="tasks per instance")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks-per-50", type=float, default=2.0, help="weeks of window per 50 tasks")
    parser.add_argument("--skip-http", action="store_true", help="leave out the HTTP intake (no embedded stack)")
    parser.add_argument("--posts", type=int, default=30, help="timed requests per HTTP row")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests before them")
    args = parser.parse_args()
    if min(args.sizes, default=0) < 1 or args.weeks_per_50 <= 0:
        parser.error("--sizes must be positive and --weeks-per-50 above 0")
    if args.posts < 1 or args.warmup < 0:
        parser.error("--posts must be positive and --warmup not negative")
    return args


if __name__ == "__main__":
    main(parse_args())
