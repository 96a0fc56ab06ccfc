"""The greedy placer: every task in dependency order, earliest free time first.

It is the fallback answer and the CP-SAT model's starting point, so it keeps every rule the model keeps
(scheduling_objective.violations checks both). A task that cannot be placed whole gets no blocks at all.
"""

from __future__ import annotations

import heapq
import math
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from uuid import UUID

from scheduler_engine.domain.models import (
    PlacedBlock,
    Problem,
    RiskStatus,
    Solution,
    TaskOutcome,
    UnscheduledReason,
)
from scheduler_engine.domain.scheduling_objective import (
    SlotProblem,
    Span,
    TaskSlots,
    movable_previous,
    moved_count,
    objective_of,
    on_grid,
)


class _Board:
    """Free time left (less placed blocks and their buffers) and each day's cap used."""

    def __init__(self, grid: SlotProblem) -> None:
        self.grid = grid
        padded = [(start - grid.buffer, end + grid.buffer) for start, end in grid.fixed]
        self.gaps = list(_subtract(grid.free, padded))
        self.used = [0] * len(grid.days)

    def plan(self, task: TaskSlots, earliest: int) -> list[Span] | None:
        """The earliest chunks that place all of `task` at or after `earliest`; None when it does not fit."""
        remaining, chunks, extra = task.slots, list[Span](), defaultdict[int, int](int)
        first = bisect_right(self.gaps, earliest, key=lambda gap: gap[1])
        for gap_start, gap_end in self.gaps[first:]:
            end = min(gap_end, task.latest_end)
            # The task's own chunks keep the buffer between them too, even across a meeting.
            cursor = max(gap_start, earliest, chunks[-1][1] + self.grid.buffer if chunks else earliest)
            while remaining and cursor < end:
                size = self._take(task, remaining, cursor, end, extra)
                if size is None:
                    cursor = self._next_day_start(cursor, end)
                    continue
                chunks.append((cursor, cursor + size))
                remaining -= size
                cursor += size + self.grid.buffer
            if not remaining:
                return chunks
        return None

    def fits(self, task: TaskSlots, chunks: Sequence[Span], earliest: int) -> bool:
        """Whether `chunks` (a previous run's blocks) are still a valid placement of all of `task`."""
        if sum(end - start for start, end in chunks) != task.slots or not chunks:
            return False
        if chunks[0][0] < earliest or chunks[-1][1] > task.latest_end or (len(chunks) > 1 and not task.task.splittable):
            return False
        if any(nxt[0] < before[1] + self.grid.buffer for before, nxt in pairwise(chunks)):
            return False
        extra = defaultdict[int, int](int)
        for start, end in chunks:
            if not (task.min_chunk <= end - start <= task.max_chunk) or not self._in_gap(start, end):
                return False
            if not self._cap_allows(start, end - start, extra):
                return False
        return True

    def commit(self, chunks: Iterable[Span]) -> None:
        for start, end in chunks:
            index = bisect_right(self.gaps, start, key=lambda gap: gap[0]) - 1
            gap_start, gap_end = self.gaps[index]
            pieces = [(gap_start, start - self.grid.buffer), (end + self.grid.buffer, gap_end)]
            self.gaps[index : index + 1] = [(a, b) for a, b in pieces if b > a]
            day = self.grid.day_of(start)
            if day is not None:
                self.used[day] += end - start

    def _take(self, task: TaskSlots, remaining: int, cursor: int, end: int, extra: dict[int, int]) -> int | None:
        """The size of the chunk to place at `cursor`, or None when none fits there."""
        size = min(task.max_chunk, end - cursor, remaining, self._cap_left(cursor, extra))
        if 0 < remaining - size < task.min_chunk:  # leave enough for one more chunk
            size = remaining - task.min_chunk
        if size <= 0 or (size < task.min_chunk and size != remaining):
            return None
        self._cap_allows(cursor, size, extra)
        return size

    def _cap_left(self, start: int, extra: dict[int, int]) -> int:
        day = self.grid.day_of(start)
        if day is None:
            return self.grid.horizon
        return self.grid.days[day].cap - self.used[day] - extra[day]

    def _cap_allows(self, start: int, size: int, extra: dict[int, int]) -> bool:
        """Whether the day of `start` has `size` slots left; if so they are counted in `extra`."""
        if size > self._cap_left(start, extra):
            return False
        day = self.grid.day_of(start)
        if day is not None:
            extra[day] += size
        return True

    def _in_gap(self, start: int, end: int) -> bool:
        index = bisect_right(self.gaps, start, key=lambda gap: gap[0]) - 1
        return index >= 0 and self.gaps[index][0] <= start and end <= self.gaps[index][1]

    def _next_day_start(self, cursor: int, end: int) -> int:
        """Where to try next in this gap: the next day's start (the cap may allow it), else give up on it."""
        index = bisect_right(self.grid.day_starts, cursor)
        if index < len(self.grid.day_starts) and self.grid.day_starts[index] < end:
            return self.grid.day_starts[index]
        return end


def greedy(problem: Problem, *, keep_previous: bool = False) -> Solution:
    """Place every task earliest-first in dependency order (see `task_order`).

    With `keep_previous`, a task whose previous blocks are all still valid keeps them (those tasks first),
    and only the others are placed earliest-first: the starting point for a replan that should move little.
    """
    started = time.perf_counter()
    if not problem.tasks:
        return Solution((), (), "empty")
    grid = on_grid(problem)
    board, placed = _Board(grid), dict[UUID, list[Span]]()
    order, cyclic = task_order(grid)
    if keep_previous:
        _keep_previous(grid, board, placed, order)
    unscheduled = {task_id for task_id in cyclic if grid.tasks[task_id].slots}
    for task_id in order:
        task = grid.tasks[task_id]
        if task_id in placed or not task.slots:
            continue
        if any(dependency in unscheduled for dependency in task.task.depends_on):
            unscheduled.add(task_id)
            continue
        chunks = board.plan(task, _earliest(grid, task, placed))
        if chunks is None:
            unscheduled.add(task_id)
        else:
            board.commit(chunks)
            placed[task_id] = chunks
    blocks = to_blocks(grid, placed)
    reasons = {task_id: unscheduled_reason(grid, grid.tasks[task_id], unscheduled) for task_id in unscheduled}
    return Solution(
        blocks=blocks,
        outcomes=outcomes(problem, blocks, reasons),
        status="greedy",
        objective=objective_of(problem, blocks),
        solve_seconds=time.perf_counter() - started,
        moved=moved_count(problem, blocks),
    )


def task_order(grid: SlotProblem) -> tuple[list[UUID], list[UUID]]:
    """Dependencies first; among the ready, the earliest deadline (none last), higher priority, then id.

    Also the tasks never ready: those in a dependency cycle, and those waiting on them.
    """
    waiting_on = {tid: {dep for dep in task.task.depends_on if dep in grid.tasks} for tid, task in grid.tasks.items()}
    dependents: dict[UUID, list[UUID]] = defaultdict(list)
    for task_id, dependencies in waiting_on.items():
        for dependency in dependencies:
            dependents[dependency].append(task_id)
    ready = [_order_key(grid.tasks[tid]) for tid, deps in waiting_on.items() if not deps]
    heapq.heapify(ready)
    order: list[UUID] = []
    while ready:
        task_id = heapq.heappop(ready)[-1]
        order.append(task_id)
        for dependent in dependents[task_id]:
            waiting_on[dependent].discard(task_id)
            if not waiting_on[dependent]:
                heapq.heappush(ready, _order_key(grid.tasks[dependent]))
    done = set(order)
    return order, [task_id for task_id in grid.tasks if task_id not in done]


def unscheduled_reason(grid: SlotProblem, task: TaskSlots, unscheduled: set[UUID]) -> UnscheduledReason:
    """Why a task has no blocks, the first that applies: a dependency, its length, its deadline, the window."""
    if any(dependency in unscheduled for dependency in task.task.depends_on):
        return "blocked_by_dependency"
    if not task.task.splittable and grid.free and all(end - start < task.slots for start, end in grid.free):
        return "longer_than_any_window"
    if task.task.hard_deadline and task.task.deadline is not None:
        return "no_capacity_before_deadline"
    return "no_capacity_in_window"


def outcomes(
    problem: Problem, blocks: Sequence[PlacedBlock], reasons: dict[UUID, UnscheduledReason]
) -> tuple[TaskOutcome, ...]:
    """Each task's expected finish (its last block, new or fixed) and its risk against its deadline."""
    finish: dict[UUID, datetime] = {}
    ends = [(block.task_id, block.end) for block in blocks] + [(block.task_id, block.end) for block in problem.fixed]
    for task_id, end in ends:
        finish[task_id] = max(finish.get(task_id, end), end)
    result = []
    for task in problem.tasks:
        if task.id in reasons:
            # Not in this plan at all: a deadline will be missed; without one, the work is still owed.
            status: RiskStatus = "late" if task.deadline is not None else "at_risk"
            result.append(TaskOutcome(task.id, status, None, reasons[task.id]))
        else:
            last = finish.get(task.id)
            result.append(TaskOutcome(task.id, risk(last, task.deadline, task.minutes), last))
    return tuple(result)


def risk(finish: datetime | None, deadline: datetime | None, minutes: int) -> RiskStatus:
    """Late past the deadline; at risk with less slack than 20% of the task or an hour."""
    if finish is None or deadline is None:
        return "on_track"
    if finish > deadline:
        return "late"
    if deadline - finish < timedelta(minutes=max(0.2 * minutes, 60)):
        return "at_risk"
    return "on_track"


def to_blocks(grid: SlotProblem, placed: dict[UUID, list[Span]]) -> tuple[PlacedBlock, ...]:
    blocks = [
        PlacedBlock(task_id, grid.grid.time(start), grid.grid.time(end))
        for task_id, chunks in placed.items()
        for start, end in chunks
    ]
    return tuple(sorted(blocks, key=lambda block: (block.start, str(block.task_id))))


def _keep_previous(grid: SlotProblem, board: _Board, placed: dict[UUID, list[Span]], order: list[UUID]) -> None:
    """Keep each task's previous blocks where they are still valid, its dependencies kept before it."""
    previous: dict[UUID, list[Span]] = defaultdict(list)
    for block in movable_previous(grid.problem):
        start, end = grid.grid.exact(block.start), grid.grid.exact(block.end)
        if start is not None and end is not None:
            previous[block.task_id].append((start, end))
    for task_id in order:
        task = grid.tasks[task_id]
        dependencies_kept = all(
            dep in placed or dep not in grid.tasks or grid.tasks[dep].slots == 0 for dep in task.task.depends_on
        )
        chunks = sorted(previous.get(task_id, []))
        if chunks and dependencies_kept and board.fits(task, chunks, _earliest(grid, task, placed)):
            board.commit(chunks)
            placed[task_id] = chunks


def _earliest(grid: SlotProblem, task: TaskSlots, placed: dict[UUID, list[Span]]) -> int:
    """Its own earliest start, and after each dependency's last block plus the buffer."""
    ends = [grid.finish(dependency, placed.get(dependency, [])) for dependency in task.task.depends_on]
    return max([task.earliest, *(end + grid.buffer for end in ends if end is not None)])


def _order_key(task: TaskSlots) -> tuple[float, int, UUID]:
    deadline = task.task.deadline
    return deadline.timestamp() if deadline is not None else math.inf, -task.weight, task.task.id


def _subtract(free: Sequence[Span], taken: Sequence[Span]) -> Iterable[Span]:
    """`free` less every span of `taken` (any order, may overlap)."""
    taken = sorted(taken)
    index = 0
    for start, end in free:
        cursor = start
        while index < len(taken) and taken[index][1] <= cursor:
            index += 1
        probe = index
        while probe < len(taken) and taken[probe][0] < end:
            if taken[probe][0] > cursor:
                yield cursor, taken[probe][0]
            cursor = max(cursor, taken[probe][1])
            probe += 1
        if cursor < end:
            yield cursor, end
