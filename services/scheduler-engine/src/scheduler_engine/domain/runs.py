"""Runs: take a request (idempotent by key), solve it off the request path, keep the blocks, sync the
calendar, and tell the planner. Every step is recorded on the run's row, so a crash anywhere is picked up
by the sweep: a run left pending or running is executed again (the same blocks come out, and the
calendar sync is idempotent), a report the planner did not take is sent again.

Any number of replicas share the runs: a run is executed under a lease (its own task, or one sweep of any
replica, wins it), and a user's runs that place blocks go one at a time, oldest first: two at once would
place blocks in the same free time, and two calendar syncs at once could each remove the other's events.
The worker holding a user's oldest unfinished run goes on with the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pma_core.clock import Clock, utc_now
from pma_core.contracts.scheduling import MAX_WINDOW_DAYS, RunStatus, ScheduledTask, ScheduleResult
from pma_core.contracts.tasks import PlannedBlock
from pma_core.errors import ConflictError
from scheduler_engine.domain.blocks import assign
from scheduler_engine.domain.calendar_time import align_up, free_time
from scheduler_engine.domain.changes import CalendarWatcher
from scheduler_engine.domain.constraints import protected_windows
from scheduler_engine.domain.intake import RunSpec
from scheduler_engine.domain.models import ExistingBlock, Interval, Problem, Solution, StoredBlock
from scheduler_engine.domain.outcomes import task_reports
from scheduler_engine.domain.ports import (
    BlockStore,
    CalendarBackend,
    PlanReporter,
    ProfileStore,
    RunRecord,
    RunResult,
    RunStore,
)

_log = logging.getLogger(__name__)
# How long a claimed report stays another sender's: longer than a report takes (the planner client's
# timeout and retries), short enough that a replica that died holding one delays it little.
REPORT_LEASE_SECONDS = 60.0
# How long a run stays its worker's: renewed after the solve, so it covers the solve (SCHEDULER_TIME_LIMIT_SECONDS,
# 5 s by default) and then the calendar sync with its retries; a replica that died mid-run delays it that long.
RUN_LEASE = timedelta(minutes=2)
# A run the store drops out of midway (Postgres restarting, a lost connection) is tried again by its worker,
# waiting this long at first and doubling up to the last, while its lease lasts: never failed for it.
OUTAGE_RETRY_SECONDS = (0.5, 10.0)
Solve = Callable[[Problem], Solution]
Spawn = Callable[[Coroutine[Any, Any, None]], None]
Transient = Callable[[BaseException], bool]


def _never_transient(_: BaseException) -> bool:
    return False


@dataclass(frozen=True)
class Tuning:
    window_days: int = 14
    # A run nobody holds that is still pending or running after this long was interrupted (a crash before
    # its task took it, or a worker whose lease ran out): the sweep runs it again.
    stale_after: timedelta = timedelta(minutes=2)
    run_lease: timedelta = RUN_LEASE


@dataclass
class RunService:
    runs: RunStore
    blocks: BlockStore
    profiles: ProfileStore
    solve: Solve
    calendar_for: Callable[[str], Awaitable[CalendarBackend | None]]
    reporter: PlanReporter | None
    spawn: Spawn
    watcher: CalendarWatcher | None = None
    tuning: Tuning = field(default_factory=Tuning)
    clock: Clock = utc_now
    # Whether an error is the store being unavailable for a moment (the adapters' call, so no SQL here).
    transient: Transient = _never_transient
    # Solves that may run at once (each uses all of CP-SAT's workers); None: no bound.
    solve_slots: asyncio.Semaphore | None = None

    async def submit(self, spec: RunSpec, *, key: str | None) -> tuple[RunRecord, bool]:
        """Store the run and start it in the background; the same key returns the first run (a retried
        hand-over), and the same key with another request is a 409."""
        run, created = await self.runs.create(spec, key=key, input_hash=spec.input_hash())
        if not created and run.input_hash != spec.input_hash():
            raise ConflictError(
                "this idempotency key was used for another request", details={"run_id": str(run.id)},
                code="idempotency_key_reused",
            )  # fmt: skip
        if created:
            self.spawn(self.execute(run.id))
        return run, created

    async def execute(self, run_id: UUID) -> None:
        """Run it, unless another worker holds it: a run that places blocks waits for the user's earlier
        ones, and whoever runs those goes on with it. Failures are the run's error, never raised."""
        await self._execute_through_outages(run_id)

    async def _execute_through_outages(self, run_id: UUID) -> int:
        """`_execute`, tried again through a store outage while a lease would last (the same blocks come out,
        and the worker takes its own claims back); past it the run is left to the sweep, never failed for it."""
        claimant = uuid.uuid4()
        delay, longest = OUTAGE_RETRY_SECONDS
        give_up = asyncio.get_running_loop().time() + self.tuning.run_lease.total_seconds() * 0.75
        while True:
            try:
                return await self._execute(run_id, claimant)
            except Exception as exc:
                if not self.transient(exc):
                    raise
                if asyncio.get_running_loop().time() + delay > give_up:
                    _log.warning("scheduler run %s: the store is still unavailable; left for the sweep", run_id)
                    return 0
                _log.warning("scheduler run %s interrupted (%s); tried again in %.1f s", run_id, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    async def _execute(self, run_id: UUID, claimant: UUID) -> int:
        """How many runs this worker executed: this one, or the user's queue it took."""
        run = await self.runs.get(None, run_id)
        if run is None or run.status not in ("pending", "running"):
            await self.report(run_id)  # finished meanwhile (another worker, or this one before an outage)
            return 0
        lease = self.tuning.run_lease.total_seconds()
        if run.spec.dry_run:  # a proposal keeps no blocks: it waits for nobody
            if (claimed := await self.runs.claim(run_id, lease_seconds=lease, claimant=claimant)) is None:
                return 0
            await self._run(claimed)
            return 1
        executed = 0
        while claimed := await self.runs.claim_next(run.spec.user_id, lease_seconds=lease, claimant=claimant):
            await self._run(claimed)
            executed += 1
        return executed

    async def _run(self, run: RunRecord) -> None:
        """Solve, keep the blocks, sync the calendar, report; a store outage is raised (the caller tries again)."""
        await self._solve_keep_and_sync(run)
        await self.report(run.id)

    async def _solve_keep_and_sync(self, run: RunRecord) -> None:
        try:
            result = await self._solve_and_keep(run)
        except Exception as exc:
            if self.transient(exc):
                raise
            _log.exception("scheduler run %s failed", run.id)
            await self.runs.fail(run.id, f"{type(exc).__name__}: {exc}")
        else:
            # The calendar first: a run that shows as finished is on the calendar (or says why not).
            if not run.spec.dry_run:
                await self.runs.renew(run.id, lease_seconds=self.tuning.run_lease.total_seconds())
                await self._sync_calendar(run.spec.user_id, run.id)
            await self.runs.finish(run.id, result)

    async def _solve_and_keep(self, run: RunRecord) -> RunResult:
        spec, now = run.spec, self.clock()
        calendar = await self.calendar_for(spec.user_id)
        if calendar is not None and self.watcher is not None and not spec.dry_run:
            # What the user moved or deleted must be known before placing anything, or sync would undo it.
            await self.watcher.pull(spec.user_id, calendar)
        profile = await self.profiles.get(spec.user_id)
        window = self._window(spec, now)
        done = await (
            self.blocks.done_minutes(spec.user_id, now) if spec.dry_run else self.blocks.settle_past(spec.user_id, now)
        )
        active = await self.blocks.active(spec.user_id, window)
        task_ids = {task.id for task in spec.tasks}
        restore = spec.restore_deleted and not spec.dry_run
        deleted = await self.blocks.deleted_by_user(spec.user_id, list(task_ids), restore=restore)
        mine = [block for block in active if block.task_id in task_ids]
        freeze_until = now + timedelta(hours=profile.freeze_hours)
        kept = [_existing(b, fixed=b.pinned or b.start < freeze_until) for b in mine]
        fixed = [b for b in kept if b.fixed]
        previous = [b for b in kept if not b.fixed]
        busy = [b.interval for b in active if b.task_id not in task_ids] + [Interval(b.start, b.end) for b in fixed]
        if calendar is not None:
            busy += await calendar.busy(spec.user_id, window, profile.busy_calendars)
        free, days = free_time(profile, window, busy, now=now, protected_extra=protected_windows(spec.constraints))
        problem = Problem(
            now=now, window=window, tasks=spec.to_place(done, deleted), free=free, days=days,
            buffer_minutes=profile.buffer_minutes, min_chunk_minutes=profile.min_chunk_minutes,
            max_chunk_minutes=profile.max_chunk_minutes, fixed=tuple(fixed), previous=tuple(previous),
        )  # fmt: skip
        # CP-SAT holds the GIL only between its C++ calls: in a worker thread the event loop keeps serving.
        async with self.solve_slots or contextlib.nullcontext():
            solution = await asyncio.to_thread(self.solve, problem)
        if not spec.dry_run:
            titles = {task.id: task.title for task in spec.tasks}
            await self.blocks.apply(run.id, spec, titles, assign(previous, list(solution.blocks)))
        reports = task_reports(spec, solution, fixed, deleted)
        status: RunStatus = "partial" if any(r.status == "unscheduled" for r in reports) else "succeeded"
        return RunResult(status=status, window=window, solution=solution, tasks=reports)

    def _window(self, spec: RunSpec, now: datetime) -> Interval:
        start = align_up(max(spec.window_start or now, now))
        return Interval(start, start + timedelta(days=spec.window_days or self.tuning.window_days))

    async def _sync_calendar(self, user_id: str, run_id: UUID) -> None:
        calendar = await self.calendar_for(user_id)
        if calendar is None:
            await self.runs.calendar_synced(run_id, error=None)  # the ICS feed is read from the blocks as they are
            return
        now = self.clock()
        window = Interval(now, now + timedelta(days=MAX_WINDOW_DAYS))
        try:
            if self.watcher is not None and await self.watcher.paused(user_id):
                raise RuntimeError("calendar sync paused: Google's quota is spent; it resumes within the hour")
            await calendar.sync(user_id, await self.blocks.calendar_view(user_id, window), window)
        except Exception as exc:  # the blocks are kept; the next run or the sweep syncs again
            _log.warning("calendar sync of run %s failed: %s", run_id, exc)
            if self.watcher is not None:
                await self.watcher.pause_if_quota(user_id, exc)
            await self.runs.calendar_synced(run_id, error=f"{type(exc).__name__}: {exc}")
            return
        await self.runs.calendar_synced(run_id, error=None)

    async def report(self, run_id: UUID) -> bool:
        """Tell the planner how a finished run of a plan went; True once it took the report."""
        run = await self.runs.get(None, run_id)
        if run is None or run.spec.plan_id is None or run.spec.dry_run or self.reporter is None:
            return False
        if run.status not in ("succeeded", "partial", "failed") or run.finished_at is None:
            return False
        if not await self.runs.claim_report(run_id, lease_seconds=REPORT_LEASE_SECONDS):
            return False  # sent already, or being sent by the run's task or another replica's sweep
        taken = False
        try:
            taken = await self.reporter.report(run.spec.plan_id, await self._result(run))
        finally:  # a report not taken (or raising) gives the claim back for the next sweep
            await (self.runs.reported(run_id) if taken else self.runs.release_report(run_id))
        return taken

    async def _result(self, run: RunRecord) -> ScheduleResult:
        assert run.finished_at is not None
        by_task: dict[UUID, list[PlannedBlock]] = {}
        for block in await self.blocks.for_run(run.id):
            by_task.setdefault(block.task_id, []).append(
                PlannedBlock(block_id=block.block_id, start=block.start, end=block.end)
            )
        tasks = [
            ScheduledTask(
                task_id=report.task_id,
                status=report.status,
                expected_finish=report.expected_finish,
                reason=report.reason,
                blocks=by_task.get(report.task_id, []),
            )
            for report in run.tasks
        ]
        return ScheduleResult(
            user_id=run.spec.user_id, run_id=run.id, plan_revision=run.spec.plan_revision, status=run.status,
            finished_at=run.finished_at, tasks=tasks,
        )  # fmt: skip

    async def sweep(self, limit: int = 20) -> tuple[int, int]:
        """(runs executed again, reports delivered) this round."""
        stale = self.clock() - self.tuning.stale_after
        rerun = 0
        for run_id in await self.runs.unfinished(older_than=stale, limit=limit):
            rerun += await self._execute_through_outages(run_id)
        delivered = 0
        for run_id in await self.runs.unreported(limit=limit):
            delivered += await self.report(run_id)
        return rerun, delivered


def _existing(block: StoredBlock, *, fixed: bool) -> ExistingBlock:
    return ExistingBlock(block_id=block.block_id, task_id=block.task_id, start=block.start, end=block.end, fixed=fixed)
