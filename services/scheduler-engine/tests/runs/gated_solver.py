"""What the tests of a run's execution outside the service share (test_run_claims, test_run_outage,
test_solve_slots): the real solver behind a gate, and a `RunService`'s collaborators they leave out."""

from __future__ import annotations

import threading
from collections.abc import Coroutine
from typing import Any

from scheduler_engine.domain.models import Problem, Solution
from scheduler_engine.domain.ports import CalendarBackend
from scheduler_engine.domain.solver import solve


class GatedSolver:
    """The real solver (one worker, a short limit), each call recorded; the first waits at `gate` (a worker
    caught mid-solve); `most` is how many solves ran at once at the most."""

    def __init__(self) -> None:
        self.calls: list[Problem] = []
        self.most = 0
        self.entered = threading.Event()
        self.gate = threading.Event()
        self._lock = threading.Lock()
        self._running = 0

    def __call__(self, problem: Problem) -> Solution:
        with self._lock:
            self.calls.append(problem)
            self._running += 1
            self.most = max(self.most, self._running)
            first = len(self.calls) == 1
        if first:
            self.entered.set()
            self.gate.wait(timeout=20)
        try:
            return solve(problem, time_limit_seconds=1.0, random_seed=0, num_workers=1)
        finally:
            with self._lock:
                self._running -= 1


async def no_calendar(_: str) -> CalendarBackend | None:
    return None  # the ICS feed: it is read from the blocks as they are


def no_spawn(work: Coroutine[Any, Any, None]) -> None:
    work.close()  # these tests call `execute` and `sweep` themselves
