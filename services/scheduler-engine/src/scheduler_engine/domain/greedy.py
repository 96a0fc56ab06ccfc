"""The greedy placer: deadline-first in dependency order, earliest free time first, then a local repair.

It is the fallback answer and the CP-SAT model's starting point, so it keeps every rule the model keeps
(scheduling_objective.violations checks both). A task that cannot be placed whole gets no blocks at all.

The order (`task_order`): dependencies first; among the ready tasks the earliest *due* one, then the
higher priority. A task is due by its own deadline, or earlier when a task that depends on it is due
(that task's slots and the buffer counted back in free time), so a dependency is not left behind work
that is due later; tasks never due come last, the most weight per slot first (Smith's rule: the least
weighted finish time).

The repair (`_Placer._repair`): when a task cannot be placed by its deadline (a hard one: at all; a soft
one: on time), placed tasks in its window [earliest start, deadline] make room: one task, or a run of
neighbouring ones, is released (no deadline first, then the most slack, then the lowest priority), the
task placed by its deadline, and the released ones again, where they were if they still fit, else
earliest-first; one that is late now makes room for itself the same way in turn (an ejection chain). The
best such change stands if it lowers the objective's levels (scheduling_objective) over every task it
touched, else all of it is undone. With `keep_previous` that is what moves a few kept blocks aside for a
task a new meeting displaced, instead of dropping the task or making it late.
"""

from __future__ import annotations

import heapq
import math
import time
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import accumulate, pairwise
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
    task_levels,
)

# Releases tried per repair at most (one task, or one with its neighbours, each): a repair stays a local
# change, and greedy stays fast.
REPAIR_TRIES = 32
# How far a repair may pass the lateness on (a released task made late makes room in turn), with how many
# victims tried each step; and the tries of one greedy run in all, per task, which keeps greedy fast when
# the window is overloaded and little can be repaired.
CHAIN_DEPTH = 8
CHAIN_TRIES = 6
# The most tasks one release may take together (neighbours, to make room for a longer task).
GROUP_SIZE = 4
BUDGET_PER_TASK = 1
Cost = tuple[int, int, int, int, int]  # scheduling_objective.Levels.key(): unscheduled, late, ..., earliness


class _Board:
    """Free time left (less fixed and placed blocks, each with the buffer around it) and each day's cap used."""

    def __init__(self, grid: SlotProblem) -> None:
        self.grid = grid
        self.walls = _joined((start - grid.buffer, end + grid.buffer) for start, end in grid.fixed)
        self.chunks: list[Span] = []  # every placed chunk, sorted (they never overlap)
        self.gaps = list(_subtract(grid.free, self.walls))
        self.used = [0] * len(grid.days)

    def plan(self, task: TaskSlots, earliest: int, latest_end: int) -> list[Span] | None:
        """The earliest chunks that place all of `task` in [earliest, latest_end]; None when it does not fit."""
        remaining, chunks, extra = task.slots, list[Span](), defaultdict[int, int](int)
        first = bisect_right(self.gaps, earliest, key=lambda gap: gap[1])
        for gap_start, gap_end in self.gaps[first:]:
            if gap_start >= latest_end:
                break
            end = min(gap_end, latest_end)
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

    def fits(self, task: TaskSlots, chunks: Sequence[Span], earliest: int, latest_end: int) -> bool:
        """Whether `chunks` (a previous run's blocks) are still a valid placement of all of `task`."""
        if sum(end - start for start, end in chunks) != task.slots or not chunks:
            return False
        if len(chunks) > 1 and not task.task.splittable:
            return False
        return self.fits_part(task, chunks, earliest, latest_end)

    def fits_part(self, task: TaskSlots, chunks: Sequence[Span], earliest: int, latest_end: int) -> bool:
        """Whether `chunks` may all be placed as chunks of `task` (not necessarily all of it)."""
        if chunks[0][0] < earliest or chunks[-1][1] > latest_end:
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
            insort(self.chunks, (start, end))
            self._refresh(start - self.grid.buffer, end + self.grid.buffer)
            day = self.grid.day_of(start)
            if day is not None:
                self.used[day] += end - start

    def release(self, chunks: Iterable[Span]) -> None:
        for start, end in chunks:
            del self.chunks[bisect_left(self.chunks, (start, end))]
            self._refresh(start - self.grid.buffer, end + self.grid.buffer)
            day = self.grid.day_of(start)
            if day is not None:
                self.used[day] -= end - start

    def overlapping(self, low: int, high: int) -> Iterator[Span]:
        """The placed chunks that reach into [low, high)."""
        return _overlapping(self.chunks, low, high)

    def snapshot(self) -> tuple[list[Span], list[Span], list[int]]:
        return list(self.gaps), list(self.chunks), list(self.used)

    def restore(self, snapshot: tuple[list[Span], list[Span], list[int]]) -> None:
        self.gaps, self.chunks, self.used = snapshot

    def _refresh(self, low: int, high: int) -> None:
        """Recompute the gaps in [low, high): free time less the walls and every chunk with its buffer.

        A chunk's buffer reaches across a short meeting into the next free interval too, so the gaps are
        free time less the padded chunks, not each free interval split on its own.
        """
        buffer = self.grid.buffer
        pieces = [(max(start, low), min(end, high)) for start, end in _overlapping(self.grid.free, low, high)]
        padded = [(start - buffer, end + buffer) for start, end in self.overlapping(low - buffer, high + buffer)]
        fresh = list(_subtract(pieces, [*_overlapping(self.walls, low, high), *padded]))
        first = bisect_left(self.gaps, low, key=lambda gap: gap[1])  # touching gaps are joined again
        last = first
        while last < len(self.gaps) and self.gaps[last][0] <= high:
            last += 1
        around = self.gaps[first:last]
        outside = [(start, min(end, low)) for start, end in around if start < low]
        outside += [(max(start, high), end) for start, end in around if end > high]
        self.gaps[first:last] = _joined(sorted([*outside, *fresh]), touching=True)

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
    """Place every task earliest-first in `task_order`, repairing what would miss its deadline.

    With `keep_previous`, every task whose previous blocks are still valid keeps them (those tasks first;
    a split task keeps the chunks that are, and only the rest is placed anew), and the repair may move
    kept blocks, paying for each: the starting point for a replan that should move little.
    """
    started = time.perf_counter()
    if not problem.tasks:
        return Solution((), (), "empty")
    grid = on_grid(problem)
    placer = _Placer(grid, keep_previous)
    placer.run()
    blocks = to_blocks(grid, placer.placed)
    unscheduled = placer.unscheduled
    reasons = {task_id: unscheduled_reason(grid, grid.tasks[task_id], unscheduled) for task_id in unscheduled}
    return Solution(
        blocks=blocks,
        outcomes=outcomes(problem, blocks, reasons),
        status="greedy",
        objective=objective_of(problem, blocks),
        solve_seconds=time.perf_counter() - started,
        moved=moved_count(problem, blocks),
    )


@dataclass
class _Placer:
    grid: SlotProblem
    keep: bool  # a replan keeping the previous blocks: moves count in the repair's comparison
    board: _Board = field(init=False)
    placed: dict[UUID, list[Span]] = field(default_factory=dict)
    unscheduled: set[UUID] = field(default_factory=set)
    owner: dict[Span, UUID] = field(default_factory=dict)  # the task of each placed chunk
    attempts: int = 0  # repair tries so far, against `budget`
    replaying: bool = False  # keeping a try already made: the budget does not stop it halfway

    def __post_init__(self) -> None:
        grid = self.grid
        self.board = _Board(grid)
        self.budget = BUDGET_PER_TASK * len(grid.tasks) + 100
        self.free_before = _FreeTime(grid.free)
        self.due = due_slots(grid, self.free_before)
        self.order, self.cyclic = task_order(grid, self.due)
        self.rank = {task_id: index for index, task_id in enumerate(self.order)}
        self.dependents: dict[UUID, list[UUID]] = defaultdict(list)
        for task_id, task in grid.tasks.items():
            for dependency in task.task.depends_on:
                if dependency in grid.tasks:
                    self.dependents[dependency].append(task_id)
        self.previous: dict[UUID, list[Span]] = defaultdict(list)
        if self.keep:
            for block in movable_previous(grid.problem):
                start, end = grid.grid.exact(block.start), grid.grid.exact(block.end)
                if start is not None and end is not None:
                    self.previous[block.task_id].append((start, end))
            for chunks in self.previous.values():
                chunks.sort()

    def run(self) -> None:
        if self.keep:
            self._keep_previous()
        self.unscheduled = {task_id for task_id in self.cyclic if self.grid.tasks[task_id].slots}
        for task_id in self.order:
            task = self.grid.tasks[task_id]
            if task_id in self.placed or not task.slots:
                continue
            if any(dependency in self.unscheduled for dependency in task.task.depends_on):
                self.unscheduled.add(task_id)
                continue
            chunks = self._keep_part(task) if self.keep else None
            chunks = chunks or self.board.plan(task, self._earliest(task), task.latest_end)
            if (chunks is None or self._late(task, chunks)) and self._repair(task, chunks):
                continue
            if chunks is None:
                self.unscheduled.add(task_id)
            else:
                self._commit(task_id, chunks)

    def _keep_previous(self) -> None:
        """Keep each task's previous blocks where they are still valid, its dependencies kept before it."""
        for task_id in self.order:
            task = self.grid.tasks[task_id]
            dependencies_kept = all(
                dep in self.placed or dep not in self.grid.tasks or self.grid.tasks[dep].slots == 0
                for dep in task.task.depends_on
            )
            chunks = self.previous.get(task_id, [])
            if chunks and dependencies_kept and self.board.fits(task, chunks, self._earliest(task), task.latest_end):
                self._commit(task_id, chunks)

    def _keep_part(self, task: TaskSlots) -> list[Span] | None:
        """A split task whose previous chunks are not all valid any more: the valid ones and the rest placed
        anew after the buffer (None when that does not work out)."""
        previous = self.previous.get(task.task.id)
        if not previous or not task.task.splittable:
            return None
        earliest = self._earliest(task)
        kept: list[Span] = []
        for chunk in previous:
            if self.board.fits_part(task, [*kept, chunk], earliest, task.latest_end):
                kept.append(chunk)
        rest = task.slots - sum(end - start for start, end in kept)
        if not kept or rest < 0 or (0 < rest < task.min_chunk):
            return None
        if not rest:
            return kept
        self.board.commit(kept)
        more = self.board.plan(replace(task, slots=rest), earliest, task.latest_end)
        self.board.release(kept)
        return sorted([*kept, *more]) if more is not None else None

    def _repair(self, task: TaskSlots, current: list[Span] | None) -> bool:
        """Make room for a task that misses its deadline (or the window), and keep the best such change that
        lowers the levels over every task it touched; True when one was kept (everything committed).

        Each try releases one placed task in the task's window (or one with its neighbours: `_groups`),
        places the task by its deadline and the released ones again, where they were if they still fit;
        a released task that is now late makes room for itself the same way in turn (an ejection chain, at
        most `CHAIN_DEPTH` long, never moving a task of the chain twice), so the lateness is passed on to
        where there is slack instead of landing on the first task moved.
        """
        if current is None and not self.keep and task.latest_end >= self.grid.horizon:
            return False  # greedy from scratch: a task without a hard deadline that does not fit at all stays out
        target = self._target(task, current)
        earliest = self._earliest(task)
        if self.free_before(target) - self.free_before(earliest) < task.slots:
            return False  # not enough free time in its window, whoever holds it
        groups = self._groups(task, earliest, target, frozenset({task.task.id}))
        best: tuple[Cost, int] | None = None
        for index, group in enumerate(groups[:REPAIR_TRIES]):
            if self._spent():
                break
            change = self._try(task, current, group, keep=False)
            if change is not None and (best is None or change[0] < best[0]):
                best = change[0], index
                if change[1]:
                    break  # the others lost nothing but moves and earliness: good enough
        if best is None:
            return False
        self.replaying = True  # the same try again, to keep it: with the same budget as the first time
        kept = self._try(task, current, groups[best[1]], keep=True) is not None
        self.replaying = False
        return kept

    def _try(
        self, task: TaskSlots, current: list[Span] | None, group: list[UUID], *, keep: bool
    ) -> tuple[Cost, bool] | None:
        """One try of `_repair`: when it lowers the levels over the tasks it touched, by how much and whether
        the others lost nothing but moves and earliness (all of it stays with `keep`); else None, undone."""
        saved = self._save()
        touched = {task.task.id: self._cost(task, current)}
        change = None
        made_late = self._displace(task, group, touched, self._target(task, current))
        if made_late is not None:
            self._chain(made_late, touched, depth=1, frozen=frozenset({task.task.id, *group}))
            after = {task_id: self._cost_of(task_id, self.placed.get(task_id)) for task_id in touched}
            gain = _difference(_total(after.values()), _total(touched.values()))
            others = [_difference(after[t], touched[t])[:3] for t in touched if t != task.task.id]
            if gain < (0, 0, 0, 0, 0):
                change = gain, all(loss <= (0, 0, 0) for loss in others)
        if change is None or not keep:
            self._restore(saved)
        return change

    def _displace(
        self, task: TaskSlots, group: list[UUID], touched: dict[UUID, Cost], target: int
    ) -> list[UUID] | None:
        """Release `group` (and the task, if placed), place the task to end by `target` and the group again;
        the released tasks it made late, or None when someone does not fit (the state is then mixed: the
        caller restores it). `touched` gains each released task with its levels before."""
        self.attempts += 1
        task_id = task.task.id
        earliest = self._earliest(task)
        released = {victim: self.placed.pop(victim) for victim in group}
        for victim, chunks in released.items():
            touched.setdefault(victim, self._cost_of(victim, chunks))
            self.board.release(chunks)
        if (mine := self.placed.pop(task_id, None)) is not None:
            self.board.release(mine)
        found = self.board.plan(task, earliest, target)
        if found is None:
            return None
        self._commit(task_id, found)
        made_late = []
        for victim in sorted(released, key=self.rank.__getitem__):
            again = self._place_again(victim, released[victim])
            if again is None:
                return None
            self._commit(victim, again)
            victim_task = self.grid.tasks[victim]
            if self._late(victim_task, again) and not self._late(victim_task, released[victim]):
                made_late.append(victim)
        return made_late

    def _chain(self, made_late: list[UUID], touched: dict[UUID, Cost], *, depth: int, frozen: frozenset[UUID]) -> None:
        if depth <= CHAIN_DEPTH:
            for victim in made_late:
                self._pass_on(self.grid.tasks[victim], touched, depth=depth, frozen=frozen)

    def _pass_on(self, task: TaskSlots, touched: dict[UUID, Cost], *, depth: int, frozen: frozenset[UUID]) -> None:
        """A task of a chain made late makes room for itself by its deadline if it can, releasing one of its
        groups (`_groups`): the first that makes no one else late, else the first that fits (and those it
        made late in turn, down the chain); else it stays late."""
        current = self.placed[task.task.id]
        target, earliest = self._target(task, current), self._earliest(task)
        if self.free_before(target) - self.free_before(earliest) < task.slots:
            return
        groups = self._groups(task, earliest, target, frozen)[:CHAIN_TRIES]
        fitting = None
        for group in groups:
            if self._spent():
                break
            saved, before = self._save(), dict(touched)
            made_late = self._displace(task, group, touched, target)
            if made_late == []:
                return
            if made_late is not None and fitting is None:
                fitting = group
            self._restore(saved)
            touched.clear()
            touched.update(before)
        if fitting is not None:
            made_late = self._displace(task, fitting, touched, target)
            assert made_late is not None  # it fitted a moment ago, on the same board
            self._chain(made_late, touched, depth=depth + 1, frozen=frozen | {task.task.id, *fitting})

    def _spent(self) -> bool:
        return self.attempts >= self.budget and not self.replaying

    def _save(self) -> tuple[tuple[list[Span], list[Span], list[int]], dict[Span, UUID], dict[UUID, list[Span]]]:
        return self.board.snapshot(), dict(self.owner), dict(self.placed)

    def _restore(
        self, saved: tuple[tuple[list[Span], list[Span], list[int]], dict[Span, UUID], dict[UUID, list[Span]]]
    ) -> None:
        board, self.owner, self.placed = saved
        self.board.restore(board)

    def _target(self, task: TaskSlots, current: list[Span] | None) -> int:
        """Where a repair must finish the task: by its soft deadline when it is placed late, else by its
        latest end (its hard deadline, or the window's end)."""
        if current is not None and task.soft_deadline is not None:
            return task.soft_deadline
        return task.latest_end

    def _groups(self, task: TaskSlots, low: int, high: int, frozen: frozenset[UUID]) -> list[list[UUID]]:
        """What a task may release to fit in [low, high): runs of neighbouring chunks in one free interval,
        each of a task that may give way (`_may_give_way`), as few as leave room enough for the task (for a
        split task, for its largest chunk); the groups whose tasks mind it least first."""
        keys = self._may_give_way(task, low, high, frozen)
        need = task.slots if not task.task.splittable else min(task.slots, task.max_chunk)
        chunks, buffer = self.board.chunks, self.grid.buffer
        found: dict[tuple[UUID, ...], tuple[bool, float, int, int, int]] = {}
        first = bisect_right(chunks, low, key=lambda chunk: chunk[1])
        for index in range(first, len(chunks)):
            if chunks[index][0] >= high:
                break
            if self.owner[chunks[index]] not in keys:
                continue
            free = self.grid.free[bisect_right(self.grid.free, chunks[index][0], key=lambda span: span[0]) - 1]
            group, last = [self.owner[chunks[index]]], index
            while True:
                left = max(free[0], chunks[index - 1][1] + buffer if index else free[0])
                right = min(free[1], chunks[last + 1][0] - buffer if last + 1 < len(chunks) else free[1])
                if right - left >= need:
                    members = [keys[member] for member in group]
                    found.setdefault(
                        tuple(group),
                        (
                            any(key[0] for key in members), max(key[1] for key in members),
                            max(key[2] for key in members), len(group), min(key[3] for key in members),
                        ),
                    )  # fmt: skip
                    break
                if last + 1 >= len(chunks) or chunks[last + 1][0] >= min(free[1], high) or len(group) >= GROUP_SIZE:
                    break
                last += 1
                if (other := self.owner[chunks[last]]) not in keys:
                    break
                if other not in group:
                    group.append(other)
        return [list(group) for group in sorted(found, key=found.__getitem__)]

    def _may_give_way(
        self, task: TaskSlots, low: int, high: int, frozen: frozenset[UUID]
    ) -> dict[UUID, tuple[bool, float, int, int]]:
        """The placed tasks with a chunk in [low, high) that may give way to `task`, each with its sort key:
        not the task's own dependencies nor a task of the chain, and with no deadline, slack or a lower
        priority; no deadline first, then the most slack, then the lowest priority."""
        ancestors = self._ancestors(task.task.id)
        found: dict[UUID, tuple[bool, float, int, int]] = {}
        seen: set[UUID] = set()
        for chunk in self.board.overlapping(low, high):
            other = self.owner[chunk]
            if other in seen or other in ancestors or other in frozen:
                continue
            seen.add(other)
            due, slack = self.due.get(other), math.inf
            if due is not None:
                finish = self.grid.finish(other, self.placed[other])
                slack = due - self.free_before(finish if finish is not None else 0)
            if due is None or slack > 0 or self.grid.tasks[other].weight < task.weight:
                found[other] = (due is not None, -slack, self.grid.tasks[other].weight, self.rank[other])
        return found

    def _place_again(self, task_id: UUID, before: list[Span]) -> list[Span] | None:
        """Where a released task goes: where it was if that still fits, else earliest-first, in any case
        before the tasks placed after it that depend on it."""
        task = self.grid.tasks[task_id]
        earliest = self._earliest(task)
        latest_end = min(
            [task.latest_end]
            + [self.placed[d][0][0] - self.grid.buffer for d in self.dependents[task_id] if d in self.placed]
        )
        if self.board.fits(task, before, earliest, latest_end):
            return before
        return self.board.plan(task, earliest, latest_end)

    def _commit(self, task_id: UUID, chunks: list[Span]) -> None:
        self.board.commit(chunks)
        self.placed[task_id] = chunks
        for chunk in chunks:
            self.owner[chunk] = task_id

    def _cost_of(self, task_id: UUID, chunks: list[Span] | None) -> Cost:
        return self._cost(self.grid.tasks[task_id], chunks)

    def _cost(self, task: TaskSlots, chunks: list[Span] | None) -> Cost:
        """The task's levels (scheduling_objective.Levels) with these chunks; moves only when keeping."""
        levels = task_levels(self.grid, task, self.grid.finish(task.task.id, chunks or []), scheduled=bool(chunks))
        moves = 0
        if self.keep:
            starts = {start for start, _ in chunks or []}
            moves = sum(start not in starts for start, _ in self.previous.get(task.task.id, []))
        return levels.unscheduled, levels.late, levels.tardiness, moves, levels.earliness

    def _late(self, task: TaskSlots, chunks: list[Span]) -> bool:
        finish = self.grid.finish(task.task.id, chunks)
        return task.soft_deadline is not None and finish is not None and finish > task.soft_deadline

    def _earliest(self, task: TaskSlots) -> int:
        """Its own earliest start, and after each dependency's last block plus the buffer."""
        ends = [self.grid.finish(dependency, self.placed.get(dependency, [])) for dependency in task.task.depends_on]
        return max([task.earliest, *(end + self.grid.buffer for end in ends if end is not None)])

    def _ancestors(self, task_id: UUID) -> set[UUID]:
        found: set[UUID] = set()
        pending = [task_id]
        while pending:
            for dependency in self.grid.tasks[pending.pop()].task.depends_on:
                if dependency in self.grid.tasks and dependency not in found:
                    found.add(dependency)
                    pending.append(dependency)
        return found


class _FreeTime:
    """How many free slots lie before a slot: the unit due dates and slack are counted in."""

    def __init__(self, free: Sequence[Span]) -> None:
        self.free = free
        self.before = [0, *accumulate(end - start for start, end in free)]

    def __call__(self, slot: int) -> int:
        index = bisect_right(self.free, slot, key=lambda span: span[0])
        if index == 0:
            return 0
        start, end = self.free[index - 1]
        return self.before[index - 1] + min(slot, end) - start


def due_slots(grid: SlotProblem, free_before: _FreeTime) -> dict[UUID, int]:
    """When each task is due, in free slots from the window's start: its own deadline, or earlier as long
    as a task that depends on it is due (less that task's slots and the buffer); tasks never due are left out."""
    order, dependents = _topological(grid)
    due: dict[UUID, int] = {}
    for task_id in reversed(order):
        task = grid.tasks[task_id]
        deadline = task.soft_deadline if task.soft_deadline is not None else task.latest_end
        options = [free_before(deadline)] if task.task.deadline is not None else []
        options += [due[d] - grid.tasks[d].slots - grid.buffer for d in dependents[task_id] if d in due]
        if options:
            due[task_id] = min(options)
    return due


def task_order(grid: SlotProblem, due: dict[UUID, int] | None = None) -> tuple[list[UUID], list[UUID]]:
    """Dependencies first; among the ready, the earliest due (`due_slots`), then the earlier deadline and the
    higher priority; the tasks never due last, the most weight per slot first; then the id.

    Also the tasks never ready: those in a dependency cycle, and those waiting on them.
    """
    if due is None:
        due = due_slots(grid, _FreeTime(grid.free))
    waiting_on = {tid: {dep for dep in task.task.depends_on if dep in grid.tasks} for tid, task in grid.tasks.items()}
    dependents: dict[UUID, list[UUID]] = defaultdict(list)
    for task_id, dependencies in waiting_on.items():
        for dependency in dependencies:
            dependents[dependency].append(task_id)
    ready = [_order_key(grid.tasks[tid], due.get(tid)) for tid, deps in waiting_on.items() if not deps]
    heapq.heapify(ready)
    order: list[UUID] = []
    while ready:
        task_id = heapq.heappop(ready)[-1]
        order.append(task_id)
        for dependent in dependents[task_id]:
            waiting_on[dependent].discard(task_id)
            if not waiting_on[dependent]:
                heapq.heappush(ready, _order_key(grid.tasks[dependent], due.get(dependent)))
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


def _order_key(task: TaskSlots, due: int | None) -> tuple[int, float, float, int, UUID]:
    if due is not None:
        deadline = task.task.deadline
        return 0, due, deadline.timestamp() if deadline is not None else math.inf, -task.weight, task.task.id
    return 1, task.slots / task.weight, 0.0, -task.weight, task.task.id


def _topological(grid: SlotProblem) -> tuple[list[UUID], dict[UUID, list[UUID]]]:
    """The tasks, each after its dependencies (those in a cycle left out), and each task's dependents."""
    waiting = {tid: sum(dep in grid.tasks for dep in task.task.depends_on) for tid, task in grid.tasks.items()}
    dependents: dict[UUID, list[UUID]] = defaultdict(list)
    for task_id, task in grid.tasks.items():
        for dependency in task.task.depends_on:
            if dependency in grid.tasks:
                dependents[dependency].append(task_id)
    ready = [task_id for task_id, count in waiting.items() if not count]
    order: list[UUID] = []
    while ready:
        task_id = ready.pop()
        order.append(task_id)
        for dependent in dependents[task_id]:
            waiting[dependent] -= 1
            if not waiting[dependent]:
                ready.append(dependent)
    return order, dependents


def _total(costs: Iterable[Cost]) -> Cost:
    total = [0, 0, 0, 0, 0]
    for cost in costs:
        for index, value in enumerate(cost):
            total[index] += value
    return total[0], total[1], total[2], total[3], total[4]


def _difference(after: Cost, before: Cost) -> Cost:
    return (
        after[0] - before[0],
        after[1] - before[1],
        after[2] - before[2],
        after[3] - before[3],
        after[4] - before[4],
    )


def _overlapping(spans: Sequence[Span], low: int, high: int) -> Iterator[Span]:
    """The spans of a sorted list of disjoint spans that reach into [low, high)."""
    index = bisect_right(spans, low, key=lambda span: span[1])
    while index < len(spans) and spans[index][0] < high:
        yield spans[index]
        index += 1


def _joined(spans: Iterable[Span], *, touching: bool = False) -> list[Span]:
    """Sorted, overlapping spans joined (and touching ones with `touching`); empty ones dropped."""
    joined: list[Span] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if joined and (start < joined[-1][1] or (touching and start == joined[-1][1])):
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


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
