"""A Problem on the slot grid, what a schedule of it costs, and what a schedule may not do.

The greedy placer and the CP-SAT model both read the Problem through `on_grid`, are scored by
`levels_of` / `objective_key` and checked by `violations`, so the two answers are comparable slot for slot.

The cost is lexicographic: five levels, each worth more than everything below it can ever add up to
(w = PRIORITY_WEIGHT of the task's priority, slots of 15 minutes counted from the window's start):
1. unscheduled: w * slots of each task left out, so a task is dropped only when it cannot fit;
2. late: how many tasks finish after their soft deadline;
3. tardiness: w * slots each of them finishes after it;
4. moves: `move_penalty` for each previous (non-fixed) block whose task has no block starting where it
   started (0 ignores moves): moving a block is better than any lateness, and kept blocks beat earliness;
5. earliness: w * each scheduled task's finish slot (the end of its last block), so higher priorities go
   first and a split task's last chunk does not drift.
`Weights` turns the first four into one integer, the primary cost, and adds the fifth below it for the
objective key, `primary * (most earliness + 1) + earliness` (an exact Python int; a Solution reports it
as a float). The weights follow from the problem's own bounds (its horizon, tasks and previous blocks),
so no amount of a lower level can pay for one unit of a higher one. CP-SAT minimises the primary cost,
then earliness (solver.py); at the benchmark's 400 tasks over 16 weeks the primary cost stays below 10^15.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np

from scheduler_engine.domain.calendar_time import SLOT, align_down
from scheduler_engine.domain.models import (
    PRIORITY_WEIGHT,
    SLOT_MINUTES,
    ExistingBlock,
    PlacedBlock,
    Problem,
    TaskToPlace,
)

# What one moved block costs within its level (0: replan from scratch). Any positive value gives the same
# order: moves are a level of their own, below every lateness and above earliness.
MOVE_PENALTY = 1

Span = tuple[int, int]  # [start, end) in slots
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES


@dataclass(frozen=True, slots=True)
class Grid:
    """Slot indices counted from `origin` (the window's start, aligned down to the grid)."""

    origin: datetime

    def floor(self, moment: datetime) -> int:
        return math.floor((moment - self.origin) / SLOT)

    def ceil(self, moment: datetime) -> int:
        return math.ceil((moment - self.origin) / SLOT)

    def time(self, slot: int) -> datetime:
        return self.origin + slot * SLOT

    def exact(self, moment: datetime) -> int | None:
        """The slot of a moment on the grid; None for a moment between two slots."""
        slot = self.floor(moment)
        return slot if self.time(slot) == moment else None


@dataclass(frozen=True, slots=True)
class TaskSlots:
    task: TaskToPlace
    slots: int  # still to place: its minutes less its fixed blocks', rounded up
    min_chunk: int
    max_chunk: int  # equal to `slots` for a task that is not split
    weight: int
    earliest: int  # first slot it may start in (its earliest start, now, the window)
    latest_end: int  # its hard deadline, else the horizon
    soft_deadline: int | None  # the slot its soft deadline falls in (finishing later is late)


@dataclass(frozen=True, slots=True)
class Day:
    start: int
    end: int
    cap: int  # slots left for new blocks starting this day, after the fixed ones


@dataclass(frozen=True, slots=True)
class SlotProblem:
    problem: Problem
    grid: Grid
    horizon: int
    buffer: int
    free: tuple[Span, ...]  # merged: touching free intervals are one
    days: tuple[Day, ...]  # sorted
    day_starts: tuple[int, ...]
    tasks: dict[UUID, TaskSlots]  # in the problem's order
    fixed: tuple[Span, ...]
    fixed_end: dict[UUID, int]  # the end of each task's last fixed block

    def day_of(self, slot: int) -> int | None:
        """The index of the day a block starting at `slot` counts towards; None outside every day."""
        index = bisect_right(self.day_starts, slot) - 1
        return index if index >= 0 and slot < self.days[index].end else None

    def finish(self, task_id: UUID, spans: Sequence[Span]) -> int | None:
        """Where a task ends: its last block, new or fixed."""
        ends = [end for _, end in spans]
        if task_id in self.fixed_end:
            ends.append(self.fixed_end[task_id])
        return max(ends, default=None)


def on_grid(problem: Problem) -> SlotProblem:
    grid = Grid(align_down(problem.window.start))
    horizon = grid.floor(problem.window.end)
    fixed_minutes: dict[UUID, int] = defaultdict(int)
    fixed_end: dict[UUID, int] = {}
    for block in problem.fixed:
        fixed_minutes[block.task_id] += _minutes(block.end - block.start)
        fixed_end[block.task_id] = max(fixed_end.get(block.task_id, -(10**9)), grid.ceil(block.end))
    days = _days(problem, grid)
    return SlotProblem(
        problem=problem,
        grid=grid,
        horizon=horizon,
        buffer=math.ceil(problem.buffer_minutes / SLOT_MINUTES),
        free=_merged(_inside(grid.ceil(part.start), grid.floor(part.end), horizon) for part in problem.free),
        days=days,
        day_starts=tuple(day.start for day in days),
        tasks={task.id: _task_slots(problem, task, fixed_minutes[task.id], grid, horizon) for task in problem.tasks},
        fixed=tuple(sorted((grid.floor(block.start), grid.ceil(block.end)) for block in problem.fixed)),
        fixed_end=fixed_end,
    )


@dataclass(frozen=True, slots=True)
class DayAxis:
    """Which day a slot counts towards, as a formula the CP-SAT model can use for the daily cap:
    position = (slot - shift - base) // SLOTS_PER_DAY, linear between clock changes (each era from a
    `switches` slot on has its own shift: a local day is 23 or 25 hours when the clocks change)."""

    base: int
    switches: tuple[int, ...]
    shifts: tuple[int, ...]  # one per era, the first before the first switch
    listed: dict[int, int]  # position -> index of the day in SlotProblem.days

    def position(self, slot: int) -> int:
        return (slot - self.shifts[bisect_right(self.switches, slot)] - self.base) // SLOTS_PER_DAY


def day_axis(grid: SlotProblem) -> DayAxis | None:
    """The axis of `grid.days`, or None when no such formula gives `day_of` for every slot of the window."""
    if not grid.days:
        return None
    first = grid.days[0].start
    positions = [round((day.start - first) / SLOTS_PER_DAY) for day in grid.days]
    offsets = [day.start - first - SLOTS_PER_DAY * position for day, position in zip(grid.days, positions, strict=True)]
    switches: list[int] = []
    shifts = [offsets[0]]
    for index in range(1, len(grid.days)):
        if offsets[index] != shifts[-1]:
            switch = _switch(grid, index, positions, shifts[-1], offsets[index], switches[-1] if switches else None)
            if switch is None:
                return None
            switches.append(switch)
            shifts.append(offsets[index])
    axis = DayAxis(first, tuple(switches), tuple(shifts), dict(zip(positions, range(len(positions)), strict=True)))
    return axis if _reproduces_days(grid, axis) else None


def _switch(
    grid: SlotProblem, index: int, positions: list[int], before: int, after: int, previous: int | None
) -> int | None:
    """Where the era changes between day `index - 1` and day `index`: a slot that maps both days right."""
    earlier, later = grid.days[index - 1], grid.days[index]
    region = range(max(earlier.start, previous if previous is not None else earlier.start), later.end)
    for switch in (earlier.end, later.start, (earlier.start + earlier.end) // 2, (earlier.end + later.start) // 2):
        mapped = [
            (slot - (before if slot < switch else after) - grid.days[0].start) // SLOTS_PER_DAY for slot in region
        ]
        wanted = [
            positions[index - 1] if slot < earlier.end else positions[index] if slot >= later.start else None
            for slot in region
        ]
        if all(
            got == want if want is not None else positions[index - 1] < got < positions[index]
            for got, want in zip(mapped, wanted, strict=True)
        ):
            return switch
    return None


def _reproduces_days(grid: SlotProblem, axis: DayAxis) -> bool:
    slots = np.arange(0, grid.horizon + 1)
    shifts = np.array(axis.shifts)[np.searchsorted(np.array(axis.switches, dtype=np.int64), slots, side="right")]
    positions = (slots - shifts - axis.base) // SLOTS_PER_DAY
    mapped = np.array([axis.listed.get(int(position), -1) for position in positions])
    wanted = np.array([index if (index := grid.day_of(int(slot))) is not None else -1 for slot in slots])
    return bool(np.array_equal(mapped, wanted))


@dataclass(frozen=True, slots=True)
class Levels:
    """A schedule's cost per level, the most important first (see the module's doc)."""

    unscheduled: int = 0  # w * slots of the tasks left out
    late: int = 0  # tasks that finish after their soft deadline
    tardiness: int = 0  # w * slots past the soft deadlines
    moves: int = 0  # previous blocks not kept at their start (times the move penalty in the primary cost)
    earliness: int = 0  # w * finish slot of the scheduled tasks

    def __add__(self, other: Levels) -> Levels:
        return Levels(
            self.unscheduled + other.unscheduled, self.late + other.late, self.tardiness + other.tardiness,
            self.moves + other.moves, self.earliness + other.earliness,
        )  # fmt: skip

    def key(self) -> tuple[int, int, int, int, int]:
        return self.unscheduled, self.late, self.tardiness, self.moves, self.earliness


@dataclass(frozen=True, slots=True)
class Weights:
    """The lexicographic weights of one problem: each level's weight exceeds the most that all the levels
    below it can add up to (their bounds follow from the horizon, the tasks and the previous blocks)."""

    unscheduled: int
    late: int
    tardiness: int
    move: int  # the move penalty; 0 ignores moves
    earliness_span: int  # one more than the most earliness can be: the primary cost's unit in the key

    def primary(self, levels: Levels) -> int:
        """Unscheduled >> late >> tardiness >> moves, as one integer (what CP-SAT minimises first)."""
        return (
            self.unscheduled * levels.unscheduled + self.late * levels.late + self.tardiness * levels.tardiness
            + self.move * levels.moves
        )  # fmt: skip

    def key(self, levels: Levels) -> int:
        """The whole order as one integer: the primary cost, then earliness."""
        return self.primary(levels) * self.earliness_span + levels.earliness

    def decode(self, primary: int) -> Levels:
        """The levels of a primary cost; of a lower bound, a lexicographic lower bound of the levels."""
        unscheduled, rest = divmod(primary, self.unscheduled)
        late, rest = divmod(rest, self.late)
        tardiness, rest = divmod(rest, self.tardiness)
        return Levels(unscheduled, late, tardiness, rest // self.move if self.move else 0)


def weights_of(grid: SlotProblem, *, move_penalty: int = MOVE_PENALTY) -> Weights:
    """Each level's weight: one more than the most the levels below can add up to, from the problem's bounds
    (every previous block moved, every soft deadline missed by the window's end, every task late)."""
    moves = move_penalty * len(movable_previous(grid.problem)) if move_penalty else 0
    tardiness = moves + 1
    most_tardiness = sum(
        task.weight * max(0, latest_finish(grid, task) - task.soft_deadline)
        for task in grid.tasks.values()
        if task.soft_deadline is not None
    )
    late = tardiness * most_tardiness + moves + 1
    soft = sum(task.soft_deadline is not None for task in grid.tasks.values())
    unscheduled = late * soft + tardiness * most_tardiness + moves + 1
    most_earliness = sum(task.weight * latest_finish(grid, task) for task in grid.tasks.values())
    return Weights(unscheduled, late, tardiness, move_penalty, most_earliness + 1)


def latest_finish(grid: SlotProblem, task: TaskSlots) -> int:
    """The latest a task can finish: the horizon, or its last fixed block when that ends later."""
    return max(grid.horizon, grid.fixed_end.get(task.task.id, 0))


def task_levels(grid: SlotProblem, task: TaskSlots, finish: int | None, *, scheduled: bool) -> Levels:
    """What one task adds, moves aside: scheduled with its last block ending at `finish`, or left out."""
    if not scheduled:
        return Levels(unscheduled=task.weight * task.slots)
    if finish is None:
        return Levels()
    late = max(0, finish - task.soft_deadline) if task.soft_deadline is not None else 0
    return Levels(late=int(late > 0), tardiness=task.weight * late, earliness=task.weight * max(0, finish))


def levels_of(problem: Problem, blocks: Sequence[PlacedBlock], *, grid: SlotProblem | None = None) -> Levels:
    """The levels of any schedule of `problem` (moves counted once each, before the move penalty)."""
    grid = grid or on_grid(problem)
    spans = spans_by_task(grid, blocks)
    total = Levels(moves=moved_count(problem, blocks))
    for task_id, task in grid.tasks.items():
        own = spans.get(task_id, [])
        total += task_levels(grid, task, grid.finish(task_id, own), scheduled=bool(own) or task.slots == 0)
    return total


def objective_key(problem: Problem, blocks: Sequence[PlacedBlock], *, move_penalty: int = MOVE_PENALTY) -> int:
    """The exact objective of a schedule: lower is better, lexicographically by level."""
    grid = on_grid(problem)
    return weights_of(grid, move_penalty=move_penalty).key(levels_of(problem, blocks, grid=grid))


def objective_of(problem: Problem, blocks: Sequence[PlacedBlock], *, move_penalty: int = MOVE_PENALTY) -> float:
    """`objective_key` as a float (what a Solution reports; exact decisions use the key)."""
    return float(objective_key(problem, blocks, move_penalty=move_penalty))


def movable_previous(problem: Problem) -> list[ExistingBlock]:
    """The previous blocks a move is counted for: not fixed, of a task still in the problem."""
    ids = {task.id for task in problem.tasks}
    return [block for block in problem.previous if not block.fixed and block.task_id in ids]


def moved_count(problem: Problem, blocks: Iterable[PlacedBlock]) -> int:
    starts = {(block.task_id, block.start) for block in blocks}
    return sum((block.task_id, block.start) not in starts for block in movable_previous(problem))


def spans_by_task(grid: SlotProblem, blocks: Iterable[PlacedBlock]) -> dict[UUID, list[Span]]:
    spans: dict[UUID, list[Span]] = defaultdict(list)
    for block in blocks:
        spans[block.task_id].append((grid.grid.floor(block.start), grid.grid.ceil(block.end)))
    return {task_id: sorted(own) for task_id, own in spans.items()}


def violations(problem: Problem, blocks: Sequence[PlacedBlock]) -> list[str]:
    """Every rule `blocks` break (empty for a valid schedule): the check both placers' answers pass."""
    grid = on_grid(problem)
    spans = spans_by_task(grid, blocks)
    found = [f"block of unknown task {task_id}" for task_id in spans if task_id not in grid.tasks]
    found += [
        f"{block.task_id}: {block.start:%d %H:%M} is off the grid or empty"
        for block in blocks
        if _off_grid(grid, block)
    ]
    found += _overlaps(grid, spans)
    found += _day_caps(grid, spans)
    for task_id, own in spans.items():
        if task_id in grid.tasks:
            found += _task_rules(grid, grid.tasks[task_id], own, spans)
    return found


def _task_rules(grid: SlotProblem, task: TaskSlots, own: list[Span], spans: dict[UUID, list[Span]]) -> list[str]:
    name = task.task.title
    found = (
        [f"{name}: {sum(e - s for s, e in own)} slots placed, {task.slots} needed"]
        if sum(e - s for s, e in own) != task.slots
        else []
    )
    found += [f"{name}: block {s}-{e} outside free time" for s, e in own if not _inside_free(grid, (s, e))]
    sizes_ok = all(task.min_chunk <= e - s <= task.max_chunk for s, e in own)
    if not sizes_ok or (not task.task.splittable and len(own) != 1):
        found.append(f"{name}: chunks {[e - s for s, e in own]} outside [{task.min_chunk}, {task.max_chunk}]")
    if own[0][0] < task.earliest or own[-1][1] > task.latest_end:
        found.append(f"{name}: {own[0][0]}-{own[-1][1]} outside [{task.earliest}, {task.latest_end}]")
    for dependency in task.task.depends_on:
        if dependency in grid.tasks and grid.tasks[dependency].slots and dependency not in spans:
            found.append(f"{name}: placed although its dependency {dependency} is not")
        done = grid.finish(dependency, spans.get(dependency, []))
        if done is not None and own[0][0] < done + grid.buffer:
            found.append(f"{name}: starts at {own[0][0]} before its dependency ends ({done}) + buffer")
    return found


def _overlaps(grid: SlotProblem, spans: dict[UUID, list[Span]]) -> list[str]:
    """New blocks closer than the buffer to any block; fixed ones among themselves are the user's choice."""
    ordered = sorted(
        [*((span, True) for span in grid.fixed), *((span, False) for own in spans.values() for span in own)]
    )
    found, any_end, new_end = [], -math.inf, -math.inf
    for (start, end), fixed in ordered:
        if start < (new_end if fixed else any_end) + grid.buffer:
            found.append(f"block {start}-{end} overlaps another or is closer than the buffer ({grid.buffer} slots)")
        any_end = max(any_end, end)
        new_end = new_end if fixed else max(new_end, end)
    return found


def _day_caps(grid: SlotProblem, spans: dict[UUID, list[Span]]) -> list[str]:
    used: dict[int, int] = defaultdict(int)
    for own in spans.values():
        for start, end in own:
            day = grid.day_of(start)
            if day is not None:
                used[day] += end - start
    return [
        f"day {day}: {slots} slots over its cap of {grid.days[day].cap}"
        for day, slots in used.items()
        if slots > grid.days[day].cap
    ]


def _inside_free(grid: SlotProblem, span: Span) -> bool:
    index = bisect_right(grid.free, span[0], key=lambda free: free[0]) - 1
    return index >= 0 and grid.free[index][0] <= span[0] and span[1] <= grid.free[index][1]


def _off_grid(grid: SlotProblem, block: PlacedBlock) -> bool:
    return grid.grid.exact(block.start) is None or grid.grid.exact(block.end) is None or block.end <= block.start


def _task_slots(problem: Problem, task: TaskToPlace, fixed_minutes: int, grid: Grid, horizon: int) -> TaskSlots:
    slots = math.ceil(max(0, task.minutes - fixed_minutes) / SLOT_MINUTES)
    if task.splittable:
        wanted = task.min_chunk_minutes if task.min_chunk_minutes is not None else problem.min_chunk_minutes
        min_chunk = max(1, min(math.ceil(wanted / SLOT_MINUTES), slots))
        max_chunk = max(problem.max_chunk_minutes // SLOT_MINUTES, min_chunk)
    else:
        min_chunk = max_chunk = slots
    starts = [0, grid.ceil(problem.now), *([grid.ceil(task.earliest_start)] if task.earliest_start else [])]
    deadline = grid.floor(task.deadline) if task.deadline is not None else None
    return TaskSlots(
        task=task,
        slots=slots,
        min_chunk=min_chunk,
        max_chunk=max_chunk,
        weight=PRIORITY_WEIGHT[task.priority],
        earliest=max(starts),
        latest_end=min(horizon, deadline) if deadline is not None and task.hard_deadline else horizon,
        # A soft deadline before the window counts from its start: the task is late whenever it is placed.
        soft_deadline=max(deadline, 0) if deadline is not None and not task.hard_deadline else None,
    )


def _days(problem: Problem, grid: Grid) -> tuple[Day, ...]:
    """Each day's cap in slots, less the fixed blocks that start that day (a block counts where it starts)."""
    spans = sorted((grid.ceil(interval.start), grid.ceil(interval.end), cap) for interval, cap in problem.days)
    fixed_minutes: dict[int, int] = defaultdict(int)
    for block in problem.fixed:
        start = grid.floor(block.start)
        index = bisect_right(spans, start, key=lambda day: day[0]) - 1
        if index >= 0 and start < spans[index][1]:
            fixed_minutes[index] += _minutes(block.end - block.start)
    return tuple(
        Day(start, end, max(0, (cap - fixed_minutes[index]) // SLOT_MINUTES))
        for index, (start, end, cap) in enumerate(spans)
    )


def _inside(start: int, end: int, horizon: int) -> Span:
    return max(start, 0), min(end, horizon)


def _merged(spans: Iterable[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)
