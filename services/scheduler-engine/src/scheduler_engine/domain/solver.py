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
The objective is lexicographic (scheduling_objective's doc: unscheduled >> late tasks >> tardiness >>
moves >> earliness), solved in two phases: first the primary cost (the first four levels as one integer),
then, with the primary cost held at most at what phase 1 found, earliness in the time left. The greedy
answer is the complete hint of phase 1 and phase 1's answer that of phase 2, so CP-SAT never returns a
worse primary cost than greedy's; the answer falls back to greedy when CP-SAT does not match it.
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
    MOVE_PENALTY,
    SLOTS_PER_DAY,
    DayAxis,
    Levels,
    SlotProblem,
    Span,
    TaskSlots,
    Weights,
    day_axis,
    latest_finish,
    levels_of,
    movable_previous,
    moved_count,
    on_grid,
    spans_by_task,
    task_levels,
    violations,
    weights_of,
)

# Chunks offered to a split task beyond the fewest it needs (and at least as many as its hint has):
# room to work around meetings without a variable for every possible piece.
EXTRA_CHUNKS = 2
# Phase 1 (the primary cost) may use this share of the time limit; phase 2 (earliness) has the rest, and
# all of the time phase 1 leaves when it proves its optimum sooner.
PRIMARY_SHARE = 0.7
# A primary cost that could reach this is beyond what CP-SAT's integer objective takes: greedy answers.
PRIMARY_LIMIT = 2**62
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


@dataclass(frozen=True, slots=True)
class Bound:
    """What CP-SAT proved: no schedule has levels (unscheduled, late, tardiness, moves) lexicographically
    below `levels` (earliness not counted); `optimal` when the answer's primary cost meets it."""

    levels: Levels
    optimal: bool


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

    `move_penalty` (default 1, see scheduling_objective.MOVE_PENALTY) is what each previous block that
    is not kept in place costs in its level; 0 replans from scratch. Synchronous and CPU-bound: run it in
    a thread.
    """
    solution, _ = solve_with_bound(
        problem, time_limit_seconds=time_limit_seconds, random_seed=random_seed, num_workers=num_workers,
        move_penalty=move_penalty, on_solution=on_solution,
    )  # fmt: skip
    return solution


def solve_with_bound(
    problem: Problem,
    *,
    time_limit_seconds: float = 5.0,
    random_seed: int = 0,
    num_workers: int = 8,
    move_penalty: int = MOVE_PENALTY,
    on_solution: SolutionListener | None = None,
) -> tuple[Solution, Bound | None]:
    """`solve`, and what CP-SAT proved about the first four levels (None when it did not run)."""
    started = time.perf_counter()
    if not problem.tasks:
        return Solution((), (), "empty"), None
    grid = on_grid(problem)
    weights = weights_of(grid, move_penalty=move_penalty)
    fallback, fallback_key = _best_greedy(problem, grid, weights)
    fallback = replace(fallback, objective=float(fallback_key))
    if _most_primary(grid, weights) >= PRIMARY_LIMIT:
        return replace(fallback, solve_seconds=time.perf_counter() - started), None
    built = _Model(grid, spans_by_task(grid, fallback.blocks), weights)
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = random_seed
    solver.parameters.num_workers = num_workers
    solver.parameters.log_search_progress = False
    # Probing a NoOverlap of hundreds of intervals takes seconds at 400 tasks, more than the time limit:
    # without it the hint is loaded in well under a second and the search has the rest.
    solver.parameters.cp_model_probing_level = 0
    listener = _Listener(on_solution, started, built, weights) if on_solution else None

    # Phase 1: the primary cost, from the greedy hint.
    built.model.minimize(built.primary)
    solver.parameters.max_time_in_seconds = max(0.001, PRIMARY_SHARE * time_limit_seconds - _since(started))
    first = solver.solve(built.model, listener)
    if first not in _FOUND:
        return replace(fallback, solve_seconds=_since(started)), None
    primary = solver.value(built.primary) + built.constant.primary
    lowest = solver.response_proto.inner_objective_lower_bound + built.constant.primary
    bound = Bound(weights.decode(lowest), optimal=lowest >= primary)
    answer, optimal, earliness_bound = built.placement(solver), first == cp_model.OPTIMAL, 0

    # Phase 2: earliness, the primary cost held at most where phase 1 left it, from phase 1's answer.
    left = time_limit_seconds - _since(started)
    if left > 0.001:
        values = list(solver.response_proto.solution)
        built.model.add(built.primary <= primary - built.constant.primary)
        built.model.proto.clear_solution_hint()
        hint = built.model.proto.solution_hint
        hint.vars.extend(range(len(values)))
        hint.values.extend(values)
        built.model.minimize(built.earliness)
        solver.parameters.max_time_in_seconds = left
        second = solver.solve(built.model, listener)
        if second in _FOUND:
            answer = built.placement(solver)
            optimal = optimal and second == cp_model.OPTIMAL
            earliness_bound = solver.response_proto.inner_objective_lower_bound + built.constant.earliness
        else:
            optimal = False
    else:
        optimal = False
    found = _answer(problem, grid, weights, answer, optimal=optimal)
    seconds = _since(started)
    if found is None or found[1] > fallback_key:
        return replace(fallback, solve_seconds=seconds), bound
    proved = primary * weights.earliness_span + earliness_bound if bound.optimal else lowest * weights.earliness_span
    return replace(found[0], bound=float(proved), solve_seconds=seconds), bound


_FOUND = frozenset({cp_model.OPTIMAL, cp_model.FEASIBLE})


def _since(started: float) -> float:
    return time.perf_counter() - started


def _best_greedy(problem: Problem, grid: SlotProblem, weights: Weights) -> tuple[Solution, int]:
    """The plain greedy answer or, for a replan that pays for moves, the one keeping previous blocks,
    whichever has the lower objective key (the plain one on a tie); with the key."""
    candidates = [greedy(problem)]
    if weights.move and movable_previous(problem):
        candidates.append(greedy(problem, keep_previous=True))
    key, index = min(
        (weights.key(levels_of(problem, option.blocks, grid=grid)), i) for i, option in enumerate(candidates)
    )
    return candidates[index], key


def _most_primary(grid: SlotProblem, weights: Weights) -> int:
    """The largest primary cost any schedule can have (all levels at their bounds)."""
    return weights.unscheduled * (1 + sum(task.weight * task.slots for task in grid.tasks.values()))


def _answer(
    problem: Problem, grid: SlotProblem, weights: Weights, placed: dict[UUID, list[Span]], *, optimal: bool
) -> tuple[Solution, int] | None:
    """CP-SAT's placement as a Solution, with its objective key; None if it breaks a rule."""
    blocks = to_blocks(grid, placed)
    if violations(problem, blocks):  # never expected; the greedy answer is the safe one then
        return None
    unscheduled = {task_id for task_id, task in grid.tasks.items() if task.slots and task_id not in placed}
    reasons = {task_id: unscheduled_reason(grid, grid.tasks[task_id], unscheduled) for task_id in unscheduled}
    key = weights.key(levels_of(problem, blocks, grid=grid))
    solution = Solution(
        blocks=blocks,
        outcomes=outcomes(problem, blocks, reasons),
        status="optimal" if optimal else "feasible",
        objective=float(key),
        moved=moved_count(problem, blocks),
    )
    return solution, key


class _Listener(cp_model.CpSolverSolutionCallback):
    """Tells `listener` of each solution with its objective (the key of scheduling_objective, as a float)."""

    def __init__(self, listener: SolutionListener, started: float, built: _Model, weights: Weights) -> None:
        super().__init__()
        self._listener, self._started, self._built, self._weights = listener, started, built, weights

    def on_solution_callback(self) -> None:
        levels = self._built.levels(self._built.placement(self))
        self._listener(time.perf_counter() - self._started, float(self._weights.key(levels)))


@dataclass
class _Constant:
    """The parts of the primary cost and of earliness no variable changes."""

    primary: int = 0
    earliness: int = 0


class _Model:
    """The CP-SAT model of one problem, every variable hinted with `hint` (a valid schedule).

    `primary` and `earliness` are the two phases' objectives, without their constant parts (`constant`).
    """

    def __init__(self, grid: SlotProblem, hint: dict[UUID, list[Span]], weights: Weights) -> None:
        self.grid, self.hint, self.weights = grid, hint, weights
        self.model = cp_model.CpModel()
        self.tasks: dict[UUID, _TaskVars] = {}
        self.primary_terms: list[Expr] = []
        self.earliness_terms: list[Expr] = []
        self.constant = _Constant()
        self.previous_blocks = Counter(block.task_id for block in movable_previous(grid.problem))
        for task_id, task in grid.tasks.items():
            if task.slots:
                self.tasks[task_id] = self._task(task)
            else:  # done already by its fixed blocks: a constant
                self._add_constant(task_levels(grid, task, grid.finish(task_id, []), scheduled=True))
        for own in self.tasks.values():
            self._dependencies(own)
            self._deadline(own)
        self._no_overlaps()
        self._day_caps()
        self._stability()
        self.primary: cp_model.LinearExpr = cp_model.LinearExpr.sum(self.primary_terms)
        self.earliness: cp_model.LinearExpr = cp_model.LinearExpr.sum(self.earliness_terms)

    def placement(self, solver: cp_model.CpSolver | cp_model.CpSolverSolutionCallback) -> dict[UUID, list[Span]]:
        """The chunks of each placed task in the solver's last solution (or the callback's)."""
        value, present = solver.value, solver.boolean_value
        return {
            task_id: [(value(c.start), value(c.end)) for c in own.chunks if present(c.present)]
            for task_id, own in self.tasks.items()
            if present(own.present)
        }

    def levels(self, placed: dict[UUID, list[Span]]) -> Levels:
        """The levels of a placement, as levels_of counts them (the objective's variables need not be tight
        in a solution the search reports, e.g. a finish var in phase 1, where nothing minimises it)."""
        total = Levels()
        for task_id, own in self.tasks.items():
            chunks = placed.get(task_id)
            finish = self.grid.finish(task_id, chunks or [])
            total += task_levels(self.grid, own.task, finish, scheduled=chunks is not None)
        for task_id, task in self.grid.tasks.items():
            if not task.slots:
                total += task_levels(self.grid, task, self.grid.finish(task_id, []), scheduled=True)
        starts = {(task_id, start) for task_id, chunks in placed.items() for start, _ in chunks}
        moved = sum(
            (block.task_id, self.grid.grid.exact(block.start)) not in starts
            for block in movable_previous(self.grid.problem)
        )
        return total + Levels(moves=moved)

    def _add_constant(self, levels: Levels) -> None:
        self.constant.primary += self.weights.primary(levels)
        self.constant.earliness += levels.earliness

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
        self.earliness_terms.append(task.weight * own.finish)
        unscheduled = self.weights.unscheduled * task.weight * task.slots
        self.constant.primary += unscheduled
        self.primary_terms.append(-unscheduled * own.present)
        return own

    def _latest_finish(self, task: TaskSlots) -> int:
        return latest_finish(self.grid, task)

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
        most = max(0, self._latest_finish(own.task) - deadline)
        late = self._var(0, most, hinted)
        self.model.add(late >= own.finish - deadline).only_enforce_if(own.present)
        self.model.add(late == 0).only_enforce_if(~own.present)
        is_late = self._bool(hinted > 0)
        self.model.add(late <= most * is_late)
        self.primary_terms.append(self.weights.late * is_late + self.weights.tardiness * own.task.weight * late)

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
        """Per previous block, a move unless a chunk of its task starts where it started."""
        if not self.weights.move:
            return
        for block in movable_previous(self.grid.problem):
            slot = self.grid.grid.exact(block.start)
            own = self.tasks.get(block.task_id)
            keepers = self._keepers(own, slot) if own is not None and slot is not None else []
            if not keepers:
                self._add_constant(Levels(moves=1))
                continue
            moved = self._bool(not any(hinted for _, hinted in keepers))
            self.model.add_bool_or([moved, *(keeper for keeper, _ in keepers)])
            self.primary_terms.append(self.weights.move * moved)

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
