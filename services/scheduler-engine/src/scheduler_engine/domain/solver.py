"""The CP-SAT schedule: the greedy answer improved, never made worse.

The model, on the slot grid (slot 0 = the window's start):
- a task is either placed whole (its `present` literal) or not at all; a split task is a row of optional
  chunks (size in [min, max] slots, present ones first, each starting after the previous one ends plus
  the buffer, their sizes summing to the task's slots); any other task is one interval of its slots;
- free time and buffers: one NoOverlap of every chunk, stretched by the buffer at its end, with fixed
  "walls": the blocked time (the window less free time, merged) starting `buffer` later, and the fixed
  blocks stretched by the buffer. So a chunk lies inside one free interval, keeps the buffer from our
  other blocks, and may touch a meeting. There is no per-chunk choice of free interval: a few hundred
  fixed intervals in one constraint, which is what scales to 400 tasks;
- dependencies: a task starts after each dependency's finish plus the buffer, and only if it is placed;
- earliest starts and hard deadlines bound each chunk; soft deadlines give tardiness;
- the daily focus cap, when it can bind at all: a Cumulative on an axis of days, each chunk a unit
  interval at its day's position (a linear function of its start) with its size as demand;
- stability: per previous block, a literal that is true when none of its task's chunks starts there.
The objective is `scheduling_objective.objective_of`'s (its module says the terms and weights); the
greedy answer is the complete hint, and the answer falls back to it when CP-SAT does not beat it.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from uuid import UUID

from ortools.sat.python import cp_model

from scheduler_engine.domain.greedy import greedy, outcomes, to_blocks, unscheduled_reason
from scheduler_engine.domain.models import Problem, Solution
from scheduler_engine.domain.scheduling_objective import (
    EARLINESS_WEIGHT,
    MOVE_PENALTY,
    SLOTS_PER_DAY,
    TARDINESS_WEIGHT,
    DayAxis,
    SlotProblem,
    Span,
    TaskSlots,
    day_axis,
    movable_previous,
    moved_count,
    objective_of,
    on_grid,
    spans_by_task,
    task_cost,
    unscheduled_slot_cost,
    violations,
)

# Chunks offered to a split task beyond the fewest it needs (and at least as many as its hint has):
# room to work around meetings without a variable for every possible piece.
EXTRA_CHUNKS = 2
Expr = cp_model.LinearExpr | int
SolutionListener = Callable[[float, float], None]  # (seconds since solve() was called, objective)


@dataclass
class _Chunk:
    start: cp_model.IntVar
    size: Expr
    end: Expr
    present: cp_model.IntVar
    hint: Span | None  # where the hint has it; None when the hint leaves it out


@dataclass
class _TaskVars:
    task: TaskSlots
    present: cp_model.IntVar
    finish: cp_model.IntVar
    starts: cp_model.Domain  # where its chunks may start when present
    chunks: list[_Chunk] = field(default_factory=list)


def solve(
    problem: Problem,
    *,
    time_limit_seconds: float = 5.0,
    random_seed: int = 0,
    num_workers: int = 8,
    move_penalty: int = MOVE_PENALTY,
    on_solution: SolutionListener | None = None,
) -> Solution:
    """The best schedule CP-SAT finds within the time limit, or the greedy one when that is as good.

    `move_penalty` (default 300, see scheduling_objective.MOVE_PENALTY) is what each previous block that
    is not kept in place costs; 0 replans from scratch. Synchronous and CPU-bound: run it in a thread.
    """
    started = time.perf_counter()
    if not problem.tasks:
        return Solution((), (), "empty")
    fallback, fallback_objective = _best_greedy(problem, move_penalty)
    grid = on_grid(problem)
    built = _Model(grid, spans_by_task(grid, fallback.blocks), move_penalty)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_seconds
    solver.parameters.random_seed = random_seed
    solver.parameters.num_workers = num_workers
    solver.parameters.log_search_progress = False
    # Probing a NoOverlap of hundreds of intervals takes seconds at 400 tasks, more than the time limit:
    # without it the hint is loaded in well under a second and the search has the rest.
    solver.parameters.cp_model_probing_level = 0
    status = solver.solve(built.model, _Listener(on_solution, started) if on_solution else None)
    answer = _answer(problem, grid, built, solver, status) if status in _FOUND else None
    seconds = time.perf_counter() - started
    if answer is None or answer.objective is None or answer.objective > fallback_objective:
        return replace(fallback, objective=fallback_objective, solve_seconds=seconds)
    return replace(answer, solve_seconds=seconds)


_FOUND = frozenset({cp_model.OPTIMAL, cp_model.FEASIBLE})


def _best_greedy(problem: Problem, move_penalty: int) -> tuple[Solution, float]:
    """The plain greedy answer, or, for a replan that pays for moves, the one keeping previous blocks."""
    candidates = [greedy(problem)]
    if move_penalty and movable_previous(problem):
        candidates.append(greedy(problem, keep_previous=True))
    scored = [(objective_of(problem, option.blocks, move_penalty=move_penalty), option) for option in candidates]
    objective, best = min(scored, key=lambda pair: pair[0])
    return best, objective


def _answer(
    problem: Problem, grid: SlotProblem, built: _Model, solver: cp_model.CpSolver, status: cp_model.CpSolverStatus
) -> Solution | None:
    placed = {
        task_id: [(solver.value(c.start), solver.value(c.end)) for c in own.chunks if solver.boolean_value(c.present)]
        for task_id, own in built.tasks.items()
        if solver.boolean_value(own.present)
    }
    blocks = to_blocks(grid, placed)
    if violations(problem, blocks):  # never expected; the greedy answer is the safe one then
        return None
    unscheduled = {task_id for task_id, task in grid.tasks.items() if task.slots and task_id not in placed}
    reasons = {task_id: unscheduled_reason(grid, grid.tasks[task_id], unscheduled) for task_id in unscheduled}
    return Solution(
        blocks=blocks,
        outcomes=outcomes(problem, blocks, reasons),
        status="optimal" if status == cp_model.OPTIMAL else "feasible",
        objective=objective_of(problem, blocks, move_penalty=built.move_penalty),
        bound=solver.best_objective_bound,
        moved=moved_count(problem, blocks),
    )


class _Listener(cp_model.CpSolverSolutionCallback):
    def __init__(self, listener: SolutionListener, started: float) -> None:
        super().__init__()
        self._listener, self._started = listener, started

    def on_solution_callback(self) -> None:
        self._listener(time.perf_counter() - self._started, self.objective_value)


class _Model:
    """The CP-SAT model of one problem, every variable hinted with `hint` (a valid schedule)."""

    def __init__(self, grid: SlotProblem, hint: dict[UUID, list[Span]], move_penalty: int) -> None:
        self.grid, self.hint, self.move_penalty = grid, hint, move_penalty
        self.model = cp_model.CpModel()
        self.tasks: dict[UUID, _TaskVars] = {}
        self.objective: list[Expr] = []
        self.constant = 0
        self.previous_blocks = Counter(block.task_id for block in movable_previous(grid.problem))
        for task_id, task in grid.tasks.items():
            if task.slots:
                self.tasks[task_id] = self._task(task)
            else:  # done already by its fixed blocks: a constant
                self.constant += task_cost(grid, task, grid.finish(task_id, []), scheduled=True)
        for own in self.tasks.values():
            self._dependencies(own)
            self._deadline(own)
        self._no_overlaps()
        self._day_caps()
        self._stability()
        self.model.minimize(sum(self.objective) + self.constant)

    def _var(self, low: int, high: int, hint: int) -> cp_model.IntVar:
        var = self.model.new_int_var(low, high, "")
        self.model.add_hint(var, hint)
        return var

    def _bool(self, hint: bool) -> cp_model.IntVar:
        var = self.model.new_bool_var("")
        self.model.add_hint(var, hint)
        return var

    def _task(self, task: TaskSlots) -> _TaskVars:
        hint = self.hint.get(task.task.id, [])
        finish_hint = self.grid.finish(task.task.id, hint) if hint else 0
        starts = self._start_domain(task)
        own = _TaskVars(task, self._bool(bool(hint)), self._var(0, self._latest_finish(task), finish_hint or 0), starts)
        if starts.is_empty():
            self.model.add(own.present == 0)
        for index in range(self._chunk_count(task, len(hint))):
            own.chunks.append(self._chunk(own, index, hint[index] if index < len(hint) else None))
        if task.task.splittable:
            self.model.add(sum(chunk.size for chunk in own.chunks) == task.slots * own.present)
        self._finish(own)
        weight = task.weight
        self.objective.append(EARLINESS_WEIGHT * weight * own.finish)
        unscheduled = weight * task.slots * unscheduled_slot_cost(self.grid)
        self.constant += unscheduled
        self.objective.append(-unscheduled * own.present)
        return own

    def _latest_finish(self, task: TaskSlots) -> int:
        return max(self.grid.horizon, self.grid.fixed_end.get(task.task.id, 0))

    def _start_domain(self, task: TaskSlots) -> cp_model.Domain:
        """From the first to the last slot where a chunk of the task's minimum size fits in free time.

        One range, not the free intervals themselves: the NoOverlap with blocked time keeps chunks out of
        the gaps, and a domain with hundreds of holes per chunk makes presolve far slower.
        """
        fits = [
            (max(start, task.earliest), min(end, task.latest_end) - task.min_chunk)
            for start, end in self.grid.free
            if max(start, task.earliest) <= min(end, task.latest_end) - task.min_chunk
        ]
        return cp_model.Domain(fits[0][0], fits[-1][1]) if fits else cp_model.Domain.from_values([])

    def _chunk_count(self, task: TaskSlots, hinted: int) -> int:
        if not task.task.splittable:
            return 1
        wanted = max(hinted, self.previous_blocks[task.task.id], math.ceil(task.slots / task.max_chunk) + EXTRA_CHUNKS)
        return max(1, hinted, min(wanted, task.slots // task.min_chunk))

    def _chunk(self, own: _TaskVars, index: int, hint: Span | None) -> _Chunk:
        task, model = own.task, self.model
        present = own.present if index == 0 else self._bool(hint is not None)
        start = model.new_int_var_from_domain(own.starts.union_with(cp_model.Domain(0, 0)), "")
        model.add_hint(start, hint[0] if hint else 0)
        model.add(start == 0).only_enforce_if(~present)  # an absent chunk is pinned: nothing to search
        if task.task.splittable:
            size: Expr = self._var(0, task.max_chunk, _length(hint) if hint else 0)
            end: Expr = self._var(0, self.grid.horizon, hint[1] if hint else 0)
            model.add(size >= task.min_chunk).only_enforce_if(present)
            model.add(size == 0).only_enforce_if(~present)
            model.add(end == start + size)
        else:
            size, end = task.slots, start + task.slots
        model.add(end <= task.latest_end).only_enforce_if(present)
        if own.chunks:
            before = own.chunks[-1]
            model.add_implication(present, before.present)  # present chunks first
            model.add(start >= before.end + self.grid.buffer).only_enforce_if(present)
        return _Chunk(start, size, end, present, hint)

    def _finish(self, own: _TaskVars) -> None:
        """`finish` is at least every chunk's end and fixed block's end (the objective keeps it at the last)."""
        for chunk in own.chunks:
            self.model.add(own.finish >= chunk.end).only_enforce_if(chunk.present)
        fixed_end = self.grid.fixed_end.get(own.task.task.id)
        if fixed_end is not None:
            self.model.add(own.finish >= fixed_end).only_enforce_if(own.present)
        self.model.add(own.finish == 0).only_enforce_if(~own.present)

    def _dependencies(self, own: _TaskVars) -> None:
        first = own.chunks[0].start
        for dependency in own.task.task.depends_on:
            if dependency in self.tasks:
                before = self.tasks[dependency]
                self.model.add_implication(own.present, before.present)
                self.model.add(first >= before.finish + self.grid.buffer).only_enforce_if(own.present)
            elif (done := self.grid.finish(dependency, [])) is not None:
                self.model.add(first >= done + self.grid.buffer).only_enforce_if(own.present)

    def _deadline(self, own: _TaskVars) -> None:
        deadline = own.task.soft_deadline
        if deadline is None:
            return
        hint = self.hint.get(own.task.task.id)
        finish = self.grid.finish(own.task.task.id, hint) if hint else None
        hinted = max(0, finish - deadline) if finish is not None else 0
        late = self._var(0, max(0, self._latest_finish(own.task) - deadline), hinted)
        self.model.add(late >= own.finish - deadline).only_enforce_if(own.present)
        self.model.add(late == 0).only_enforce_if(~own.present)
        self.objective.append(TARDINESS_WEIGHT * own.task.weight * late)

    def _no_overlaps(self) -> None:
        """Chunks keep the buffer from each other and from fixed blocks, and stay out of blocked time.

        One NoOverlap does both: each chunk is stretched by the buffer at its end, and each blocked span
        starts `buffer` later, so a chunk may end right where blocked time starts (no buffer needed
        there). A blocked span no longer than the buffer would vanish that way; those few go into a
        second NoOverlap with the unstretched chunks.
        """
        buffer, model = self.grid.buffer, self.model
        chunks = [chunk for own in self.tasks.values() for chunk in own.chunks]
        blocked = _blocked(self.grid)
        walls = [(start + buffer, end) for start, end in blocked if end - start > buffer]
        walls += [(start, end + buffer) for start, end in self.grid.fixed]
        apart = [
            model.new_optional_interval_var(c.start, c.size + buffer, c.end + buffer, c.present, "") for c in chunks
        ]
        model.add_no_overlap(apart + [model.new_fixed_size_interval_var(s, e - s, "") for s, e in _joined(walls)])
        short = [(start, end) for start, end in blocked if end - start <= buffer]
        if short:
            inside = [model.new_optional_interval_var(c.start, c.size, c.end, c.present, "") for c in chunks]
            model.add_no_overlap(inside + [model.new_fixed_size_interval_var(s, e - s, "") for s, e in short])

    def _day_caps(self) -> None:
        """The daily focus cap, if it can bind on any day: a Cumulative over the days, else a literal per
        (chunk, day) when the days do not follow one formula (see scheduling_objective.DayAxis)."""
        if all(self._free_from(day.start, day.end) <= day.cap for day in self.grid.days):
            return
        axis = day_axis(self.grid)
        if axis is not None:
            self._cumulative_caps(axis)
            return
        for day in self.grid.days:
            span = cp_model.Domain(day.start, day.end - 1)
            counted = [
                self._in_day(chunk, own.task, span)
                for own in self.tasks.values()
                if own.starts.overlaps_with(span)
                for chunk in own.chunks
            ]
            self.model.add(sum(counted) <= day.cap)

    def _cumulative_caps(self, axis: DayAxis) -> None:
        """Each chunk is a unit interval at its day's position with its size as demand; each day's filler
        takes what its cap leaves of the common capacity, and days without a cap never fill up."""
        model, intervals, demands = self.model, [], list[Expr]()
        for own in self.tasks.values():
            last_start = own.starts.max() if not own.starts.is_empty() else 0
            for chunk in own.chunks:
                position = self._position(chunk, axis, last_start)
                intervals.append(model.new_optional_interval_var(position, 1, position + 1, chunk.present, ""))
                demands.append(chunk.size)
        uncapped = self._uncapped_load(axis)
        capacity = max([day.cap for day in self.grid.days] + list(uncapped.values()))
        for day_position, index in axis.listed.items():
            intervals.append(model.new_fixed_size_interval_var(day_position, 1, ""))
            demands.append(capacity - self.grid.days[index].cap)
        model.add_cumulative(intervals, demands, capacity)

    def _position(self, chunk: _Chunk, axis: DayAxis, last_start: int) -> cp_model.IntVar:
        """The position of the chunk's day: start - shift - base in [96 * position, 96 * position + 95]."""
        hinted = chunk.hint[0] if chunk.hint else 0
        position = self._var(axis.position(0), axis.position(last_start), axis.position(hinted))
        shift: Expr = axis.shifts[0]
        for switch, before, after in zip(axis.switches, axis.shifts, axis.shifts[1:], strict=False):
            if switch <= 0:
                shift += after - before
            elif switch <= last_start:  # a clock change within its reach: which side of it the chunk starts
                later = self._bool(hinted >= switch)
                self.model.add(chunk.start >= switch).only_enforce_if(later)
                self.model.add(chunk.start < switch).only_enforce_if(~later)
                shift += (after - before) * later
        offset = chunk.start - shift - axis.base - SLOTS_PER_DAY * position
        self.model.add_linear_constraint(offset, 0, SLOTS_PER_DAY - 1)
        return position

    def _uncapped_load(self, axis: DayAxis) -> dict[int, int]:
        """For each day position without a cap, the most slots chunks starting there could take."""
        load: dict[int, int] = defaultdict(int)
        for start, end in self.grid.free:
            seen: set[int] = set()
            for slot in range(start, end):
                position = axis.position(slot)
                if position not in axis.listed and position not in seen:
                    seen.add(position)
                    load[position] += end - slot
        return load

    def _in_day(self, chunk: _Chunk, task: TaskSlots, span: cp_model.Domain) -> Expr:
        """The chunk's size when it starts in the day's `span`, else 0."""
        inside = self._bool(chunk.hint is not None and span.contains(chunk.hint[0]))
        model = self.model
        model.add_implication(inside, chunk.present)
        model.add_linear_expression_in_domain(chunk.start, span).only_enforce_if(inside)
        model.add_linear_expression_in_domain(chunk.start, span.complement()).only_enforce_if([chunk.present, ~inside])
        if not task.task.splittable:
            return task.slots * inside
        size = self._var(0, task.max_chunk, _length(chunk.hint) if chunk.hint and span.contains(chunk.hint[0]) else 0)
        model.add(size == chunk.size).only_enforce_if(inside)
        model.add(size == 0).only_enforce_if(~inside)
        return size

    def _free_from(self, start: int, end: int) -> int:
        """The most slots that blocks starting in [start, end) can take."""
        return sum(
            max(0, free_end - max(free_start, start)) for free_start, free_end in self.grid.free if free_start < end
        )

    def _stability(self) -> None:
        """Per previous block, `move_penalty` unless a chunk of its task starts where it started."""
        if not self.move_penalty:
            return
        for block in movable_previous(self.grid.problem):
            slot = self.grid.grid.exact(block.start)
            own = self.tasks.get(block.task_id)
            keepers = self._keepers(own, slot) if own is not None and slot is not None else []
            if not keepers:
                self.constant += self.move_penalty
                continue
            moved = self._bool(not any(hinted for _, hinted in keepers))
            self.model.add_bool_or([moved, *(keeper for keeper, _ in keepers)])
            self.objective.append(self.move_penalty * moved)

    def _keepers(self, own: _TaskVars, slot: int) -> list[tuple[cp_model.IntVar, bool]]:
        """A literal per chunk that could start at `slot`, true only if it does; with its hinted value."""
        keepers = []
        for chunk in own.chunks if own.starts.contains(slot) else []:
            hinted = chunk.hint is not None and chunk.hint[0] == slot
            keeper = self._bool(hinted)
            self.model.add_implication(keeper, chunk.present)
            self.model.add(chunk.start == slot).only_enforce_if(keeper)
            keepers.append((keeper, hinted))
        return keepers


def _blocked(grid: SlotProblem) -> list[Span]:
    """The window's time outside free time, merged: before, between and after the free intervals."""
    edges = [0, *(edge for span in grid.free for edge in span), grid.horizon]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2) if edges[i + 1] > edges[i]]


def _joined(spans: Iterable[Span]) -> list[Span]:
    """Sorted, overlapping spans joined (fixed blocks may overlap; a NoOverlap of them would be infeasible)."""
    joined: list[Span] = []
    for start, end in sorted(spans):
        if joined and start < joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def _length(span: Span) -> int:
    return span[1] - span[0]
