"""The scheduler's placers on seeded instances: greedy alone, CP-SAT at 2 s and 5 s, and how much a replan
moves; prints Markdown tables.

    uv run python bench/scheduler.py [--sizes 50,100,200,400] [--seed 7] [--weeks-per-50 2]

Each instance is one user in Europe/Berlin (Mon-Fri 09:00-17:00, lunch 12:00-13:00, a 15-minute buffer,
a 4-hour daily focus cap), with 2-4 one-hour meetings a working day as busy time, and tasks that fill
about 60% of the free time (lengths drawn from 15-180 minutes, then scaled to that load: about 15-120),
60% splittable, 15% depending on an earlier task, mixed priorities, a deadline for about half (a fifth
of those hard), a tenth with an earliest start.

Two weeks hold about 40 hours of free time, so at 60% load they take about 50 tasks of half an hour on
average; a bigger instance gets a longer window at the same density (`--weeks-per-50`: weeks of window
per 50 tasks), so the rows differ in size, not in how crowded the calendar is.

The replan: the CP-SAT 5 s answer becomes the previous blocks (none fixed), one 2-hour meeting is added
in the afternoon of the first working day, and CP-SAT (2 s) replans with the move penalty and without it
(`move_penalty=0`); "moved" is the share of previous blocks whose task has no block at the same start.
CP-SAT runs with 8 workers (as in production) and a fixed seed, on however many cores the machine has.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

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
from scheduler_engine.domain.scheduling_objective import MOVE_PENALTY
from scheduler_engine.domain.solver import solve

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 2, tzinfo=ZONE)  # a Monday; the window crosses the change to summer time
PROFILE = Profile(user_id="bench", time_zone="Europe/Berlin", buffer_minutes=15, daily_focus_cap_minutes=240)
LOAD = 0.6
PRIORITIES: list[Priority] = ["low", "normal", "high", "urgent"]
PRIORITY_SHARES = [0.2, 0.5, 0.2, 0.1]
MINUTES = [15, 30, 45, 60, 90, 120, 180]
MINUTE_SHARES = [0.25, 0.3, 0.15, 0.15, 0.08, 0.05, 0.02]
WORKERS = 8


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
    objective: float


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
    bound_5s: float | None
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
    return Quality(late, tardiness, unscheduled, solution.objective or 0.0)


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
    at_5s = solve(item.problem, time_limit_seconds=5.0, random_seed=args.seed, num_workers=WORKERS)
    moved = replanned(item, at_5s, args.seed)
    return Row(
        size, weeks, item.load, greedy_ms, first[0] if first else None,
        quality(item.problem, alone), quality(item.problem, at_2s), quality(item.problem, at_5s),
        at_2s.status, at_5s.status, at_5s.bound, *moved,
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
        "Objective in weighted slots (lower is better; scheduling_objective.py); the bound is CP-SAT's at 5 s. "
        f"Moved: share of previous blocks not kept at their start (move penalty {MOVE_PENALTY} / 0).",
        "",
        "| tasks | objective: greedy | 2 s (status) | 5 s (status) | bound (5 s) | gap to bound (5 s) "
        "| moved after the meeting: with penalty / without | moved with no change (penalty) |",
        "|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        bound = f"{r.bound_5s:,.0f}" if r.bound_5s is not None else "-"
        gap = f"{(r.at_5s.objective - r.bound_5s) / r.at_5s.objective:.0%}" if r.bound_5s is not None else "-"
        lines.append(
            f"| {r.tasks} | {r.greedy.objective:,.0f} | {r.at_2s.objective:,.0f} ({r.status_2s}) "
            f"| {r.at_5s.objective:,.0f} ({r.status_5s}) | {bound} | {gap} "
            f"| {r.moved_with_penalty:.0%} / {r.moved_without:.0%} | {r.moved_unchanged:.0%} |"
        )
    return "\n".join(lines)


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


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=ints, default=[50, 100, 200, 400], help="tasks per instance")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks-per-50", type=float, default=2.0, help="weeks of window per 50 tasks")
    args = parser.parse_args()
    if min(args.sizes, default=0) < 1 or args.weeks_per_50 <= 0:
        parser.error("--sizes must be positive and --weeks-per-50 above 0")
    return args


if __name__ == "__main__":
    main(parse_args())
