"""The greedy placer: order, earliest free time, buffers, chunks, caps, fixed blocks, and why a task is left out."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from scheduler_engine.domain.calendar_time import free_time
from scheduler_engine.domain.greedy import greedy
from scheduler_engine.domain.models import (
    ExistingBlock,
    Interval,
    PlacedBlock,
    Priority,
    Problem,
    Profile,
    Solution,
    TaskOutcome,
    TaskToPlace,
)
from scheduler_engine.domain.scheduling_objective import objective_of, violations

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hour: int, minute: int = 0, *, day: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def task(number: int, minutes: int, **fields: Any) -> TaskToPlace:
    return TaskToPlace(id=UUID(int=number), title=f"task {number}", minutes=minutes, **fields)


def problem(
    tasks: list[TaskToPlace], *, days: int = 1, busy: tuple[Interval, ...] = (), cap: int = 360, **fields: Any
) -> Problem:
    """Mon-Fri 09:00-17:00 UTC with lunch 12:00-13:00, from Monday 00:00 for `days` days."""
    window = Interval(MONDAY, MONDAY + timedelta(days=days))
    free, local_days = free_time(Profile(user_id="u", daily_focus_cap_minutes=cap), window, busy, now=MONDAY)
    return Problem(now=MONDAY, window=window, tasks=tuple(tasks), free=free, days=local_days, **fields)


def blocks_of(solution: Solution, number: int) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end) for b in solution.blocks if b.task_id == UUID(int=number)]


def outcome(solution: Solution, number: int) -> TaskOutcome:
    (found,) = [o for o in solution.outcomes if o.task_id == UUID(int=number)]
    return found


def test_no_tasks_is_empty() -> None:
    solution = greedy(problem([]))
    assert (solution.status, solution.blocks, solution.outcomes) == ("empty", (), ())


def test_a_task_goes_to_the_earliest_free_time_rounded_up_to_whole_slots() -> None:
    p = problem([task(1, 50)])
    solution = greedy(p)
    assert blocks_of(solution, 1) == [(at(9), at(10))]
    assert outcome(solution, 1) == TaskOutcome(UUID(int=1), "on_track", at(10))
    assert solution.status == "greedy"
    assert solution.objective == objective_of(p, solution.blocks)


def test_order_deadline_first_then_priority_then_id() -> None:
    tasks = [
        task(1, 60, priority="low"),
        task(2, 60, priority="urgent"),
        task(3, 60, priority="low", deadline=at(17, day=3)),
        task(4, 60, priority="normal", deadline=at(17, day=1)),
        task(5, 60, priority="low"),
    ]
    solution = greedy(problem(tasks))
    starts = {number: blocks_of(solution, number)[0][0] for number in range(1, 6)}
    assert sorted(starts, key=lambda number: starts[number]) == [4, 3, 2, 1, 5]


def test_dependencies_come_first_with_the_buffer_after_them() -> None:
    tasks = [
        task(1, 60, priority="urgent", deadline=at(10), depends_on=(UUID(int=2),)),
        task(2, 60, priority="low"),
    ]
    solution = greedy(problem(tasks, buffer_minutes=15))
    assert blocks_of(solution, 2) == [(at(9), at(10))]
    assert blocks_of(solution, 1) == [(at(10, 15), at(11, 15))]
    assert outcome(solution, 1).status == "late"


def test_buffer_between_our_blocks_but_not_at_the_edge_of_free_time() -> None:
    busy = (Interval(at(10), at(10, 30)),)  # a meeting right after the first block
    tasks = [task(1, 60), task(2, 60), task(3, 60)]
    solution = greedy(problem(tasks, busy=busy, buffer_minutes=30))
    assert blocks_of(solution, 1) == [(at(9), at(10))]  # ends right where the meeting starts
    assert blocks_of(solution, 2) == [(at(10, 30), at(11, 30))]  # starts right as it ends
    assert blocks_of(solution, 3) == [(at(13), at(14))]  # 11:30 + 30 min leaves no hour before lunch
    assert violations(problem(tasks, busy=busy, buffer_minutes=30), solution.blocks) == []


def test_split_tasks_use_chunks_between_min_and_max() -> None:
    busy = (Interval(at(11, 15), at(12)),)
    tasks = [task(1, 150, splittable=True)]  # 10 slots; max chunk 120 min, min 30 min
    solution = greedy(problem(tasks, busy=busy))
    # 09:00-11:00 (the max), then no 15-minute sliver at 11:00-11:15: the next chunk waits for 13:00.
    assert blocks_of(solution, 1) == [(at(9), at(11)), (at(13), at(13, 30))]


def test_a_task_min_chunk_overrides_the_problem_one() -> None:
    busy = (Interval(at(9, 45), at(10)), Interval(at(10, 45), at(11)))
    tasks = [task(1, 120, splittable=True, min_chunk_minutes=60)]
    solution = greedy(problem(tasks, busy=busy))
    assert blocks_of(solution, 1) == [(at(11), at(12)), (at(13), at(14))]  # 45-minute gaps are too short


def test_a_whole_task_may_be_longer_than_the_max_chunk() -> None:
    solution = greedy(problem([task(1, 210)]))
    assert blocks_of(solution, 1) == [(at(13), at(16, 30))]


def test_longer_than_any_window_and_a_dependent_blocked_by_it() -> None:
    tasks = [task(1, 300), task(2, 60, depends_on=(UUID(int=1),)), task(3, 60)]
    solution = greedy(problem(tasks, days=5))
    assert blocks_of(solution, 1) == blocks_of(solution, 2) == []
    assert outcome(solution, 1) == TaskOutcome(UUID(int=1), "at_risk", None, "longer_than_any_window")
    assert outcome(solution, 2).unscheduled_reason == "blocked_by_dependency"
    assert blocks_of(solution, 3) == [(at(9), at(10))]


def test_a_dependency_cycle_is_blocked() -> None:
    tasks = [task(1, 60, depends_on=(UUID(int=2),)), task(2, 60, depends_on=(UUID(int=1),))]
    solution = greedy(problem(tasks))
    assert solution.blocks == ()
    assert {o.unscheduled_reason for o in solution.outcomes} == {"blocked_by_dependency"}


def test_a_hard_deadline_that_cannot_be_met_leaves_the_task_out() -> None:
    tasks = [task(1, 240, deadline=at(11), hard_deadline=True), task(2, 60, deadline=at(10, 45), hard_deadline=True)]
    solution = greedy(problem(tasks))
    assert blocks_of(solution, 1) == []
    assert outcome(solution, 1) == TaskOutcome(UUID(int=1), "late", None, "no_capacity_before_deadline")
    assert blocks_of(solution, 2) == [(at(9), at(10))]
    assert outcome(solution, 2).status == "at_risk"  # 45 minutes of slack: less than an hour


def test_a_soft_deadline_missed_is_placed_and_late() -> None:
    solution = greedy(problem([task(1, 60, priority="high"), task(2, 240, deadline=at(12))]))
    assert blocks_of(solution, 2) == [(at(13), at(17))]
    assert outcome(solution, 2) == TaskOutcome(UUID(int=2), "late", at(17))


def test_risk_from_the_slack() -> None:
    tasks = [
        task(1, 60, deadline=at(17)),  # finishes 10:00: 7 h of slack
        task(2, 600, splittable=True, deadline=at(17, day=1)),  # 10 h: at risk below 2 h of slack
        task(3, 60),
    ]
    solution = greedy(problem(tasks, days=2))
    assert outcome(solution, 1).status == "on_track"
    assert outcome(solution, 2).expected_finish == at(15, day=1)
    assert outcome(solution, 2).status == "on_track"  # exactly 2 h of slack is not less than 20%
    tight = greedy(problem([tasks[0], replace(tasks[1], deadline=at(16, 45, day=1)), tasks[2]], days=2))
    assert outcome(tight, 2).status == "at_risk"


def test_no_room_in_the_window() -> None:
    busy = (Interval(at(9), at(17)),)
    solution = greedy(problem([task(1, 60)], busy=busy))
    assert outcome(solution, 1).unscheduled_reason == "no_capacity_in_window"


def test_the_daily_cap_is_never_exceeded() -> None:
    tasks = [task(n, 60) for n in range(1, 6)]
    p = problem(tasks, days=2, cap=120)
    solution = greedy(p)
    per_day: defaultdict[object, int] = defaultdict(int)
    for block in solution.blocks:
        per_day[block.start.date()] += (block.end - block.start) // timedelta(minutes=1)
    assert dict(per_day) == {at(0).date(): 120, at(0, day=1).date(): 120}
    assert outcome(solution, 5).unscheduled_reason == "no_capacity_in_window"


def test_fixed_blocks_count_towards_their_task_and_the_cap_and_keep_the_buffer() -> None:
    fixed = ExistingBlock(UUID(int=99), UUID(int=1), at(9), at(10), fixed=True)
    busy = (Interval(at(9), at(10)),)  # the caller passes fixed blocks as busy: they are not free
    tasks = [task(1, 120), task(2, 60), task(3, 60)]
    p = problem(tasks, busy=busy, cap=180, fixed=(fixed,), buffer_minutes=15)
    solution = greedy(p)
    assert blocks_of(solution, 1) == [(at(10, 15), at(11, 15))]  # 60 min left, after the buffer
    assert blocks_of(solution, 2) == [(at(13), at(14))]  # 11:30-12:00 is too short
    assert outcome(solution, 3).unscheduled_reason == "no_capacity_in_window"  # 60 fixed + 120 = the cap
    assert outcome(solution, 1).expected_finish == at(11, 15)
    assert violations(p, solution.blocks) == []


def test_keep_previous_keeps_valid_blocks_and_moves_only_the_displaced() -> None:
    tasks = [task(n, 60) for n in range(1, 5)]
    first = greedy(problem(tasks))
    previous = tuple(ExistingBlock(UUID(int=100 + i), b.task_id, b.start, b.end) for i, b in enumerate(first.blocks))
    meeting = (Interval(at(10), at(11)),)  # where task 2 was
    changed = problem(tasks, busy=meeting, previous=previous)
    kept = greedy(changed, keep_previous=True)
    assert kept.moved == 1
    assert blocks_of(kept, 2) == [(at(14), at(15))]
    assert [blocks_of(kept, n) for n in (1, 3, 4)] == [blocks_of(first, n) for n in (1, 3, 4)]
    assert greedy(changed).moved == 3  # from scratch, 3 and 4 shift too


def random_problem(seed: int, size: int) -> Problem:
    rng = random.Random(seed)
    priorities: list[Priority] = ["low", "normal", "high", "urgent"]
    tasks = []
    for n in range(1, size + 1):
        deadline = at(17, day=rng.randrange(10)) if rng.random() < 0.5 else None
        depends = (UUID(int=rng.randrange(1, n)),) if n > 1 and rng.random() < 0.15 else ()
        tasks.append(
            task(
                n,
                rng.choice([15, 30, 45, 60, 90, 120, 180]),
                priority=rng.choice(priorities),
                deadline=deadline,
                hard_deadline=deadline is not None and rng.random() < 0.2,
                depends_on=depends,
                splittable=rng.random() < 0.6,
            )
        )
    busy = tuple(
        Interval(at(hour, day=day), at(hour + 1, day=day)) for day in range(14) for hour in rng.sample(range(9, 17), 3)
    )
    return problem(tasks, days=14, busy=busy, buffer_minutes=15, cap=300)


def test_random_instances_break_no_rule() -> None:
    for seed in range(5):
        p = random_problem(seed, 60)
        solution = greedy(p)
        assert violations(p, solution.blocks) == []
        assert len(solution.outcomes) == 60
        placed = {b.task_id for b in solution.blocks}
        assert all((o.expected_finish is None) == (o.task_id not in placed) for o in solution.outcomes)


def test_placed_blocks_are_sorted_and_on_the_grid() -> None:
    solution = greedy(random_problem(3, 40))
    starts = [b.start for b in solution.blocks]
    assert starts == sorted(starts)
    assert all(isinstance(b, PlacedBlock) and b.start.minute % 15 == 0 for b in solution.blocks)


def test_the_buffer_reaches_across_a_meeting_shorter_than_it() -> None:
    # 09:00-10:00 ends at the meeting; the next block may not start at 10:15, 15 minutes after it.
    p = problem([task(1, 60), task(2, 60)], busy=(Interval(at(10), at(10, 15)),), buffer_minutes=30)
    solution = greedy(p)
    assert blocks_of(solution, 1) == [(at(9), at(10))]
    assert blocks_of(solution, 2) == [(at(10, 30), at(11, 30))]
    assert violations(p, solution.blocks) == []


def test_a_dependency_is_due_when_its_dependent_is() -> None:
    tasks = [
        task(1, 60, priority="low"),  # no deadline of its own: task 2 makes it due by 10:00
        task(2, 60, deadline=at(11, 15), depends_on=(UUID(int=1),)),
        task(3, 180, deadline=at(17, day=1)),  # due later than task 2, though earlier than task 1 by itself
    ]
    solution = greedy(problem(tasks, days=2, buffer_minutes=15))
    assert blocks_of(solution, 1) == [(at(9), at(10))]
    assert blocks_of(solution, 2) == [(at(10, 15), at(11, 15))]
    assert outcome(solution, 2).status != "late"
    assert blocks_of(solution, 3) == [(at(13), at(16))]


def test_tasks_without_a_deadline_go_by_weight_per_minute() -> None:
    # The least weighted finish time: a low quarter hour (1 slot per unit of weight) before 90 high
    # minutes (6 slots, weight 4: 1.5), before a normal hour (4 slots, weight 2: 2).
    tasks = [task(1, 90, priority="high"), task(2, 15, priority="low"), task(3, 60, priority="normal")]
    solution = greedy(problem(tasks))
    assert blocks_of(solution, 2) == [(at(9), at(9, 15))]
    assert blocks_of(solution, 1) == [(at(9, 15), at(10, 45))]
    assert blocks_of(solution, 3) == [(at(10, 45), at(11, 45))]


def full_monday(deadline_kind: str) -> tuple[Problem, Problem]:
    """Monday full of low tasks without a deadline around task 1 (due Monday 17:00) at 14:00; then a
    meeting lands on task 1's hour. Returns the problem before and the replan (previous blocks, no fix)."""
    hard = deadline_kind == "hard"
    tasks = [task(1, 60, priority="high", deadline=at(17), hard_deadline=hard)]
    tasks += [task(n, 60, priority="low") for n in range(2, 8)]
    before = problem(tasks, days=2)
    hours = {1: 14, 2: 9, 3: 10, 4: 11, 5: 13, 6: 15, 7: 16}
    previous = tuple(ExistingBlock(UUID(int=100 + n), UUID(int=n), at(hours[n]), at(hours[n] + 1)) for n in range(1, 8))
    after = problem(tasks, days=2, busy=(Interval(at(14), at(15)),), previous=previous)
    return before, after


def test_keep_previous_moves_one_kept_block_for_a_hard_deadline_a_meeting_displaced() -> None:
    # Kept blocks fill Monday: without the repair task 1 would be left out; now one low block moves.
    _, after = full_monday("hard")
    kept = greedy(after, keep_previous=True)
    assert violations(after, kept.blocks) == []
    assert outcome(kept, 1).unscheduled_reason is None
    assert blocks_of(kept, 1)[0][1] <= at(17)
    assert kept.moved == 2  # task 1's block and one low block, to Tuesday
    tuesday = [n for n in range(2, 8) if blocks_of(kept, n)[0][0].date() == at(0, day=1).date()]
    assert len(tuesday) == 1
    assert greedy(after).moved > kept.moved


def test_keep_previous_moves_one_kept_block_rather_than_make_a_task_late() -> None:
    _, after = full_monday("soft")
    kept = greedy(after, keep_previous=True)
    assert violations(after, kept.blocks) == []
    assert outcome(kept, 1).status != "late"
    assert kept.moved == 2
    assert all(outcome(kept, n).unscheduled_reason is None for n in range(1, 8))


def test_a_repair_passes_the_lateness_on_to_where_there_is_slack() -> None:
    # Monday is full of work due Monday: task 1 (due 17:00), displaced by the meeting, takes the hour of
    # task 2 (due Tuesday 10:00), which takes the Tuesday 09:00 of task 3 (no deadline), which goes later:
    # nobody is late, three blocks moved.
    tasks = [
        task(1, 60, priority="high", deadline=at(17)),
        task(2, 60, priority="low", deadline=at(10, day=1)),
        task(3, 60, priority="low"),
        *(task(n, 60, priority="urgent", deadline=at(17)) for n in range(4, 9)),
    ]
    hours = {1: (14, 0), 2: (9, 0), 3: (9, 1), 4: (10, 0), 5: (11, 0), 6: (13, 0), 7: (15, 0), 8: (16, 0)}
    previous = tuple(
        ExistingBlock(UUID(int=100 + n), UUID(int=n), at(hour, day=day), at(hour + 1, day=day))
        for n, (hour, day) in hours.items()
    )
    after = problem(tasks, days=2, busy=(Interval(at(14), at(15)),), previous=previous)
    kept = greedy(after, keep_previous=True)
    assert violations(after, kept.blocks) == []
    assert [n for n in range(1, 9) if outcome(kept, n).status == "late"] == []
    assert blocks_of(kept, 1) == [(at(9), at(10))]
    assert blocks_of(kept, 2) == [(at(9, day=1), at(10, day=1))]
    assert kept.moved == 3
