"""The CP-SAT schedule: never worse than greedy, every rule kept, and a replan that leaves blocks alone."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest

from scheduler_engine.domain.calendar_time import free_time
from scheduler_engine.domain.greedy import greedy
from scheduler_engine.domain.models import (
    ExistingBlock,
    Interval,
    LocalWindow,
    PlacedBlock,
    Priority,
    Problem,
    Profile,
    Solution,
    TaskOutcome,
    TaskToPlace,
)
from scheduler_engine.domain.scheduling_objective import (
    MOVE_PENALTY,
    Levels,
    day_axis,
    latest_finish,
    levels_of,
    objective_key,
    objective_of,
    on_grid,
    violations,
    weights_of,
)
from scheduler_engine.domain.solver import Bound, solve, solve_with_bound

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
QUICK: dict[str, Any] = {"time_limit_seconds": 1.5, "random_seed": 0, "num_workers": 1}


def at(hour: int, minute: int = 0, *, day: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def task(number: int, minutes: int, **fields: Any) -> TaskToPlace:
    return TaskToPlace(id=UUID(int=number), title=f"task {number}", minutes=minutes, **fields)


def problem(
    tasks: list[TaskToPlace],
    *,
    days: int = 1,
    busy: tuple[Interval, ...] = (),
    cap: int = 360,
    lunch: bool = True,
    **fields: Any,
) -> Problem:
    """Mon-Fri 09:00-17:00 UTC (lunch 12:00-13:00 unless `lunch=False`), from Monday 00:00 for `days` days."""
    profile = Profile(user_id="u", daily_focus_cap_minutes=cap)
    if not lunch:
        profile = replace(profile, lunch=None)
    window = Interval(MONDAY, MONDAY + timedelta(days=days))
    free, local_days = free_time(profile, window, busy, now=MONDAY)
    return Problem(now=MONDAY, window=window, tasks=tuple(tasks), free=free, days=local_days, **fields)


def blocks_of(solution: Solution, number: int) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end) for b in solution.blocks if b.task_id == UUID(int=number)]


def outcome(solution: Solution, number: int) -> TaskOutcome:
    (found,) = [o for o in solution.outcomes if o.task_id == UUID(int=number)]
    return found


def test_no_tasks_is_empty() -> None:
    solution = solve(problem([]), **QUICK)
    assert (solution.status, solution.blocks) == ("empty", ())


def test_higher_priority_first_where_greedy_follows_the_deadline() -> None:
    # Greedy puts the task with a (distant) deadline first; the objective prefers the urgent one early.
    tasks = [task(1, 180, priority="low", deadline=at(17, day=4)), task(2, 60, priority="urgent")]
    p = problem(tasks, days=5)
    first, best = greedy(p), solve(p, **QUICK)
    assert blocks_of(first, 1) == [(at(9), at(12))]
    assert best.status == "optimal"
    assert blocks_of(best, 2) == [(at(9), at(10))]
    assert blocks_of(best, 1) == [(at(13), at(16))]
    assert best.objective is not None
    assert first.objective is not None
    assert best.objective < first.objective
    # The bound is the model's own objective: at the optimum it meets objective_of's value exactly.
    assert best.bound == best.objective == objective_of(p, best.blocks)
    assert best.solve_seconds > 0


def test_a_task_deadline_first_leaves_out_is_placed() -> None:
    tasks = [
        task(1, 60, earliest_start=at(13), deadline=at(16)),  # deadline-first, it takes 13:00
        task(2, 240, deadline=at(17), hard_deadline=True),  # needs all of 13:00-17:00 on Monday
    ]
    p = problem(tasks, days=2)
    first, best = greedy(p), solve(p, **QUICK)
    # Greedy's repair already moves task 1 aside (it left task 2 out before it had one); CP-SAT agrees.
    for solution in (first, best):
        assert blocks_of(solution, 2) == [(at(13), at(17))]
        assert blocks_of(solution, 1) == [(at(9, day=1), at(10, day=1))]
        assert outcome(solution, 2) == TaskOutcome(UUID(int=2), "at_risk", at(17))  # no slack at all
        assert outcome(solution, 1).status == "late"  # a soft deadline given up for a hard one


def test_unschedulable_tasks_keep_their_reasons() -> None:
    tasks = [
        task(1, 300),  # longer than any window
        task(2, 60, depends_on=(UUID(int=1),)),
        task(3, 240, deadline=at(11), hard_deadline=True),
        task(4, 60, deadline=at(10), priority="high"),  # soft: placed, late behind its dependency
        task(5, 60, depends_on=(UUID(int=6),)),
        task(6, 120, splittable=True),
    ]
    p = problem(tasks, buffer_minutes=15)
    best = solve(p, **QUICK)
    reasons = {n: outcome(best, n).unscheduled_reason for n in range(1, 7)}
    assert reasons == {
        1: "longer_than_any_window",
        2: "blocked_by_dependency",
        3: "no_capacity_before_deadline",
        4: None,
        5: None,
        6: None,
    }
    assert blocks_of(best, 5)[0][0] >= blocks_of(best, 6)[-1][1] + timedelta(minutes=15)
    assert violations(p, best.blocks) == []


def test_buffers_chunks_caps_and_fixed_blocks_hold() -> None:
    fixed = ExistingBlock(UUID(int=99), UUID(int=1), at(9), at(10), fixed=True)
    tasks = [
        task(1, 180, splittable=True, priority="urgent"),  # 60 of it is the fixed block
        task(2, 90, splittable=True, min_chunk_minutes=45),
        task(3, 60, priority="high"),
        task(4, 300, splittable=True),
    ]
    p = problem(tasks, days=3, busy=(Interval(at(9), at(10)),), cap=240, fixed=(fixed,), buffer_minutes=15)
    best = solve(p, **QUICK)
    assert best.status in {"optimal", "feasible"}
    assert violations(p, best.blocks) == []
    minutes_per_day: defaultdict[date, int] = defaultdict(int)
    for block in [*best.blocks, fixed]:
        minutes_per_day[block.start.date()] += (block.end - block.start) // timedelta(minutes=1)
    assert max(minutes_per_day.values()) <= 240
    assert {o.unscheduled_reason for o in best.outcomes} == {None}
    assert sum((e - s) // timedelta(minutes=1) for s, e in blocks_of(best, 1)) == 120
    assert sum((e - s) // timedelta(minutes=1) for s, e in blocks_of(best, 2)) == 90
    assert all(end - start >= timedelta(minutes=45) for start, end in blocks_of(best, 2))
    assert all(end - start <= timedelta(minutes=120) for start, end in blocks_of(best, 4))
    ordered = sorted((b.start, b.end) for b in best.blocks)
    assert all(nxt[0] - before[1] >= timedelta(minutes=15) for before, nxt in itertools.pairwise(ordered))
    assert ordered[0][0] >= at(10, 15)  # the buffer after the fixed block


def test_a_hard_deadline_is_met_and_a_soft_one_reported_late() -> None:
    tasks = [
        task(1, 240, priority="urgent"),  # only 13:00-17:00 holds it
        task(2, 120, deadline=at(10), priority="low"),  # cannot finish by 10:00 in any case
        task(3, 60, deadline=at(14), hard_deadline=True, priority="low"),
    ]
    best = solve(problem(tasks, cap=420), **QUICK)  # 7 hours: all of the day's free time
    assert best.status == "optimal"
    assert blocks_of(best, 1) == [(at(13), at(17))]
    assert blocks_of(best, 3) == [(at(11), at(12))]  # before its hard deadline, after the late one
    assert outcome(best, 2) == TaskOutcome(UUID(int=2), "late", at(11))


def random_problem(seed: int, size: int, days: int = 5) -> Problem:
    rng = random.Random(seed)
    priorities: list[Priority] = ["low", "normal", "high", "urgent"]
    tasks = []
    for n in range(1, size + 1):
        deadline = at(17, day=rng.randrange(days)) if rng.random() < 0.5 else None
        depends = (UUID(int=rng.randrange(1, n)),) if n > 1 and rng.random() < 0.15 else ()
        tasks.append(
            task(
                n,
                rng.choice([30, 45, 60, 90, 120, 180]),
                priority=rng.choice(priorities),
                deadline=deadline,
                hard_deadline=deadline is not None and rng.random() < 0.2,
                depends_on=depends,
                splittable=rng.random() < 0.6,
            )
        )
    busy = tuple(
        Interval(at(hour, day=day), at(hour + 1, day=day))
        for day in range(days)
        for hour in rng.sample(range(9, 17), 2)
    )
    return problem(tasks, days=days, busy=busy, buffer_minutes=15, cap=300)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_never_worse_than_greedy_on_random_instances(seed: int) -> None:
    p = random_problem(seed, 14)
    first = greedy(p)
    best = solve(p, **QUICK)
    assert best.objective is not None
    assert first.objective is not None
    assert best.objective <= first.objective
    assert best.objective == objective_of(p, best.blocks)
    assert violations(p, best.blocks) == []
    assert best.bound is None or best.bound <= best.objective
    assert len(best.outcomes) == 14


def replan_instance() -> tuple[Solution, Problem]:
    """An urgent hour and four low ones on one day; then a meeting lands on the urgent hour."""
    tasks = [task(1, 60, priority="urgent"), *(task(n, 60, priority="low") for n in range(2, 6))]
    before = problem(tasks, lunch=False)
    first = solve(before, **QUICK)
    previous = tuple(ExistingBlock(UUID(int=100 + i), b.task_id, b.start, b.end) for i, b in enumerate(first.blocks))
    after = problem(tasks, lunch=False, busy=(Interval(at(9), at(10)),), previous=previous)
    return first, after


def test_a_replan_moves_only_the_displaced_block_with_the_penalty() -> None:
    first, after = replan_instance()
    assert blocks_of(first, 1) == [(at(9), at(10))]
    kept = solve(after, **QUICK)
    assert kept.status == "optimal"
    assert kept.moved == 1
    assert [blocks_of(kept, n) for n in range(2, 6)] == [blocks_of(first, n) for n in range(2, 6)]
    assert blocks_of(kept, 1) == [(at(14), at(15))]
    assert kept.objective == objective_of(after, kept.blocks, move_penalty=MOVE_PENALTY)


def test_without_the_penalty_the_replan_moves_more() -> None:
    _, after = replan_instance()
    free = solve(after, **QUICK, move_penalty=0)
    assert free.status == "optimal"
    assert free.moved >= 2
    assert blocks_of(free, 1) == [(at(10), at(11))]  # the urgent hour stays early, the low ones give way


def test_the_greedy_answer_is_returned_when_there_is_no_time_to_improve_it() -> None:
    p = random_problem(4, 30, days=10)
    rushed = solve(p, time_limit_seconds=0.001, random_seed=0, num_workers=1)
    first = greedy(p)
    assert rushed.objective is not None
    assert first.objective is not None
    assert rushed.objective <= first.objective
    if rushed.status == "greedy":
        assert rushed.blocks == first.blocks
        assert rushed.bound is None


def test_listener_hears_the_hint_first() -> None:
    p = random_problem(5, 10)
    heard: list[tuple[float, float]] = []
    best = solve(p, **QUICK, on_solution=lambda seconds, objective: heard.append((seconds, objective)))
    first = greedy(p)
    assert heard
    assert heard[0][1] == first.objective
    assert best.objective is not None
    assert best.objective <= heard[0][1]


def test_lunch_is_kept_free_by_the_solver() -> None:
    p = problem([task(n, 120, splittable=True, priority="urgent") for n in range(1, 4)], days=1)
    best = solve(p, **QUICK)
    assert all(b.end <= at(12) or b.start >= at(13) for b in best.blocks)
    assert violations(p, best.blocks) == []


def minutes_by_day(solution: Solution, days: tuple[tuple[Interval, int], ...]) -> list[int]:
    return [
        sum((b.end - b.start) // timedelta(minutes=1) for b in solution.blocks if day.start <= b.start < day.end)
        for day, _ in days
    ]


def test_the_daily_cap_holds_across_a_dst_change() -> None:
    # Every day 09:00-17:00 in Berlin over the change to summer time: the cap is a Cumulative over days.
    every_day = {day: (LocalWindow(time(9), time(17)),) for day in range(7)}
    profile = Profile(user_id="u", time_zone="Europe/Berlin", working_hours=every_day, daily_focus_cap_minutes=120)
    window = Interval(datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    free, days = free_time(profile, window, [], now=window.start)
    tasks = [task(n, 60, priority="urgent" if n % 3 == 0 else "normal") for n in range(1, 13)]
    p = Problem(now=window.start, window=window, tasks=tuple(tasks), free=free, days=days)
    assert day_axis(on_grid(p)) is not None
    best = solve(p, **QUICK)
    assert best.status in {"optimal", "feasible"}
    assert minutes_by_day(best, days) == [120] * len(days)
    assert violations(p, best.blocks) == []
    assert sum(o.unscheduled_reason is not None for o in best.outcomes) == len(tasks) - 2 * len(days)
    # The urgent ones are kept: dropping a task costs its priority weight.
    assert all(outcome(best, n).unscheduled_reason is None for n in (3, 6, 9, 12))


def test_days_that_follow_no_formula_still_have_their_cap() -> None:
    p = problem([task(n, 60) for n in range(1, 5)], lunch=False)
    halves = (
        (Interval(at(0), at(12)), 60),
        (Interval(at(12), at(24)), 120),
    )
    p = Problem(now=p.now, window=p.window, tasks=p.tasks, free=p.free, days=halves)
    assert day_axis(on_grid(p)) is None
    best = solve(p, **QUICK)
    assert best.status == "optimal"
    assert minutes_by_day(best, halves) == [60, 120]
    assert violations(p, best.blocks) == []


def test_a_meeting_shorter_than_the_buffer_still_blocks() -> None:
    # With a 30-minute buffer, the 15-minute meeting cannot be a shifted wall: it has a NoOverlap of its own.
    p = problem([task(1, 90, priority="urgent")], busy=(Interval(at(10), at(10, 15)),), buffer_minutes=30)
    best = solve(p, **QUICK)
    assert best.status == "optimal"  # CP-SAT's own answer, not the greedy fallback
    assert blocks_of(best, 1) == [(at(10, 15), at(11, 45))]
    assert blocks_of(greedy(p), 1) == blocks_of(best, 1)


def test_a_task_done_by_its_fixed_blocks_is_a_constant_of_the_objective() -> None:
    fixed = ExistingBlock(UUID(int=99), UUID(int=1), at(9), at(10), fixed=True)
    p = problem([task(1, 60), task(2, 60)], busy=(Interval(at(9), at(10)),), fixed=(fixed,))
    best = solve(p, **QUICK)
    assert best.status == "optimal"
    assert blocks_of(best, 1) == []
    assert outcome(best, 1) == TaskOutcome(UUID(int=1), "on_track", at(10))
    assert blocks_of(best, 2) == [(at(10), at(11))]
    assert best.bound == best.objective == objective_of(p, best.blocks)


def test_tardiness_dominates_earliness() -> None:
    # The urgent quarter hour first would finish it 2 hours earlier (weight 8) and make the low task (due
    # 11:00) a quarter hour late: worth it with earliness and tardiness on one scale, never now.
    tasks = [task(1, 15, priority="urgent"), task(2, 120, priority="low", deadline=at(11))]
    p = problem(tasks)
    best = solve(p, **QUICK)
    assert blocks_of(best, 2) == [(at(9), at(11))]
    assert blocks_of(best, 1) == [(at(11), at(11, 15))]
    assert outcome(best, 2).status != "late"
    urgent_first = [PlacedBlock(UUID(int=1), at(9), at(9, 15)), PlacedBlock(UUID(int=2), at(9, 15), at(11, 15))]
    assert objective_key(p, best.blocks) < objective_key(p, urgent_first)


def test_each_level_outweighs_everything_below_it() -> None:
    p = random_problem(3, 14)
    blocks = greedy(p).blocks
    previous = tuple(ExistingBlock(UUID(int=500 + i), b.task_id, b.start, b.end) for i, b in enumerate(blocks))
    p = replace(p, previous=previous)
    grid = on_grid(p)
    weights = weights_of(grid)
    deadlines = [(t, t.soft_deadline) for t in grid.tasks.values() if t.soft_deadline is not None]
    soft = [t for t, _ in deadlines]
    worst_tardiness = sum(t.weight * (latest_finish(grid, t) - deadline) for t, deadline in deadlines)
    worst_earliness = sum(t.weight * latest_finish(grid, t) for t in grid.tasks.values())
    below_late = Levels(tardiness=worst_tardiness, moves=len(previous), earliness=worst_earliness)
    assert weights.key(Levels(unscheduled=1)) > weights.key(below_late + Levels(late=len(soft)))
    assert weights.key(Levels(late=1)) > weights.key(below_late)
    assert weights.key(Levels(tardiness=1)) > weights.key(Levels(moves=len(previous), earliness=worst_earliness))
    assert weights.key(Levels(moves=1)) > weights.key(Levels(earliness=worst_earliness))
    # Without the move penalty, moves do not count at all.
    assert weights_of(grid, move_penalty=0).key(Levels(moves=len(previous))) == 0


def loaded_problem(seed: int, size: int, *, days: int, load: float, meeting: Interval | None = None) -> Problem:
    """`size` tasks over `days` days (2 one-hour meetings a working day, a 15-minute buffer, a 5-hour cap)
    filling `load` of the free time, like the benchmark's: lengths 15-180 minutes scaled to the load, half
    with a deadline from Tuesday on (a fifth of those hard), 15% depending on an earlier task, 60% split,
    a tenth with an earliest start. `meeting` is one more busy interval."""
    rng = random.Random(seed)
    busy = [Interval(at(h, day=d), at(h + 1, day=d)) for d in range(days) for h in rng.sample(range(9, 17), 2)]
    free = sum(part.minutes for part in problem([], days=days, busy=tuple(busy)).free)
    minutes = [rng.choice([15, 30, 45, 60, 90, 120, 180]) for _ in range(size)]
    scale = load * free / sum(minutes)
    priorities: list[Priority] = ["low", "normal", "high", "urgent"]
    tasks = []
    for n, length in enumerate(minutes, start=1):
        deadline = at(17, day=rng.randrange(1, days)) if rng.random() < 0.5 else None
        tasks.append(
            task(
                n,
                max(15, 15 * round(length * scale / 15)),
                priority=rng.choice(priorities),
                deadline=deadline,
                hard_deadline=deadline is not None and rng.random() < 0.2,
                depends_on=(UUID(int=rng.randrange(1, n)),) if n > 1 and rng.random() < 0.15 else (),
                splittable=rng.random() < 0.6,
                earliest_start=at(9, day=rng.randrange(days)) if rng.random() < 0.1 else None,
            )
        )
    busy += [meeting] if meeting is not None else []
    return problem(tasks, days=days, busy=tuple(busy), buffer_minutes=15, cap=300)


@pytest.mark.parametrize("seed", [4, 8, 11, 20])
def test_never_more_late_tasks_nor_more_tardiness_than_greedy(seed: int) -> None:
    # 24 tasks at 70% of a week: greedy leaves none out, but some are late.
    p = loaded_problem(seed, 24, days=5, load=0.7)
    first = levels_of(p, greedy(p).blocks)
    best, bound = solve_with_bound(p, **QUICK)
    found = levels_of(p, best.blocks)
    assert first.late > 0
    assert violations(p, best.blocks) == []
    assert found.unscheduled == first.unscheduled == 0
    assert found.late <= first.late
    assert found.tardiness <= first.tardiness
    assert bound is not None
    assert bound.levels.key()[:4] <= found.key()[:4]  # a lexicographic lower bound
    assert bound.optimal == (bound.levels.key()[:4] == found.key()[:4])


def test_the_bound_meets_the_answer_at_the_optimum() -> None:
    p = problem([task(1, 120, deadline=at(10)), task(2, 60, priority="urgent", deadline=at(10))])
    best, bound = solve_with_bound(p, **QUICK)
    assert best.status == "optimal"
    # Task 1 (normal: weight 2) is 2 hours (8 slots) late whichever goes first: urgent first is optimal.
    assert bound == Bound(Levels(unscheduled=0, late=1, tardiness=2 * 8), optimal=True)
    assert levels_of(p, best.blocks).key()[:4] == bound.levels.key()[:4]
    assert best.bound == best.objective == objective_of(p, best.blocks)


def test_a_replan_moves_a_block_rather_than_make_a_task_late() -> None:
    # Monday is full of normal tasks around task 1 (due Tuesday 09:45) at 14:00, and a meeting lands there:
    # keeping every other block makes task 1 a quarter hour late on Tuesday; one other block moves instead.
    tasks = [task(1, 60, priority="high", deadline=at(9, 45, day=1))]
    tasks += [task(n, 60) for n in range(2, 8)]
    hours = {1: 14, 2: 9, 3: 10, 4: 11, 5: 13, 6: 15, 7: 16}
    previous = tuple(ExistingBlock(UUID(int=100 + n), UUID(int=n), at(h), at(h + 1)) for n, h in hours.items())
    after = problem(tasks, days=2, busy=(Interval(at(14), at(15)),), previous=previous)
    for kept in (greedy(after, keep_previous=True), solve(after, **QUICK)):
        assert violations(after, kept.blocks) == []
        assert blocks_of(kept, 1)[0][1] <= at(17)
        assert kept.moved == 2
        assert levels_of(after, kept.blocks).late == 0


def test_a_meeting_moves_few_blocks_of_a_hundred_tasks() -> None:
    # The previous run is greedy's; a 2-hour meeting lands on Monday afternoon. Keeping the previous blocks
    # without the repair would leave the displaced work out or late; with it, no more is late or out than
    # before, and few blocks move (plain greedy moves almost all of them).
    before = loaded_problem(4, 100, days=28, load=0.6)
    first = greedy(before)
    previous = tuple(ExistingBlock(UUID(int=10**6 + i), b.task_id, b.start, b.end) for i, b in enumerate(first.blocks))
    after = replace(loaded_problem(4, 100, days=28, load=0.6, meeting=Interval(at(14), at(16))), previous=previous)
    was = levels_of(before, first.blocks)
    kept = greedy(after, keep_previous=True)
    now = levels_of(after, kept.blocks)
    assert violations(after, kept.blocks) == []
    assert (now.unscheduled, now.late) <= (was.unscheduled, was.late)
    assert kept.moved <= 0.1 * len(previous)
    assert greedy(after).moved > 0.5 * len(previous)
    best = solve(after, **QUICK)
    assert violations(after, best.blocks) == []
    assert levels_of(after, best.blocks).key()[:3] <= now.key()[:3]
    assert best.moved < 0.15 * len(previous)
