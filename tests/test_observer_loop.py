"""The feedback loop on the offline path, all four services on real ports over one Postgres and Valkey:
writing work overruns -> weekly reflection -> an estimate-factor insight remembered in the memory-gateway
-> the next plan's writing estimate is longer, and the plan says why.

The runs are chosen so that the planner's own history could not explain the change: four writing runs
on time and one three times over give a median ratio of 1.0 (history alone would leave the estimate at
its base) but a sum ratio of 420/300 = 1.4, the observer's factor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from four_services import Clients, start_four_services

from pma_core.contracts.executions import ExecutionCreate
from pma_core.contracts.memory import RecallFilters
from pma_core.contracts.plans import PlanCreate, PlanRead
from pma_core.contracts.reflections import WeeklyTrigger
from pma_core.contracts.scheduling import SchedulingProfile
from pma_core.contracts.tasks import TaskImport, TaskImportItem, TaskRead
from pma_core.settings import PostgresSettings, ValkeySettings

USER = "uma"
INTENT = "Write a blog post about the product launch"
ACTUALS = [60, 60, 60, 60, 180]  # each against an estimate of 60


@pytest.fixture
async def stack(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path
) -> AsyncIterator[Clients]:
    async with AsyncExitStack() as running:
        urls = await start_four_services(running, postgres=postgres_settings, valkey=valkey_settings, data_dir=tmp_path)
        clients = Clients(urls)
        running.push_async_callback(clients.aclose)
        yield clients


def _writing_task(plan: PlanRead) -> TaskRead:
    writing = [task for task in plan.tasks if "writing" in task.tags]
    assert writing, [(task.title, task.tags) for task in plan.tasks]
    return writing[0]


async def _record_overrunning_week(stack: Clients, monday: datetime) -> None:
    items = [
        TaskImportItem(external_ref=f"draft-{n}", title=f"Draft chapter {n}", tags=["writing"], estimate_minutes=60,
                       status="done")
        for n in range(len(ACTUALS))
    ]  # fmt: skip
    imported = await stack.planner.import_tasks(TaskImport(user_id=USER, source="coda", tasks=items))
    for day, (result, actual) in enumerate(zip(imported.results, ACTUALS, strict=True)):
        start = monday + timedelta(days=day, hours=8)
        await stack.planner.record_execution(
            ExecutionCreate(
                user_id=USER, task_id=result.task.id, status="succeeded", started_at=start,
                finished_at=start + timedelta(minutes=actual), actual_minutes=actual, estimated_minutes=60,
                idempotency_key=f"run-{day}",
            )
        )  # fmt: skip


async def _insight_remembered(stack: Clients) -> None:
    filters = RecallFilters(sources=["observer-agent"], metadata={"insight": "estimate_factor"})
    for _ in range(200):  # delivery runs after the weekly trigger answered
        if (await stack.memory.recall(USER, "writing estimate", filters=filters)).hits:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the insight was not remembered within 20 s")


async def test_an_overrunning_tag_lengthens_the_next_plans_estimate(stack: Clients) -> None:
    await stack.scheduler.put_profile(USER, SchedulingProfile(time_zone="UTC"))
    before = _writing_task(await stack.planner.create_plan(PlanCreate(user_id=USER, intent=INTENT)))

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last_monday = today - timedelta(days=today.weekday() + 7)
    await _record_overrunning_week(stack, last_monday)
    history_only = _writing_task(await stack.planner.create_plan(PlanCreate(user_id=USER, intent=INTENT)))
    assert history_only.estimate_minutes == before.estimate_minutes  # the median ratio is 1.0

    week = f"{last_monday.isocalendar().year}-W{last_monday.isocalendar().week:02d}"
    run = await stack.observer.weekly(WeeklyTrigger(user_id=USER, week=week))
    [reflection] = run.reflections
    [insight] = reflection.insights
    assert (insight.insight, insight.tag, insight.factor, insight.samples) == ("estimate_factor", "writing", 1.4, 5)
    await _insight_remembered(stack)

    after_plan = await stack.planner.create_plan(PlanCreate(user_id=USER, intent=INTENT))
    after = _writing_task(after_plan)
    expected = 5 * round(before.estimate_minutes * 1.4 / 5)
    assert after.estimate_minutes == expected > before.estimate_minutes
    assert any("writing x1.40" in note and "observer insight" in note for note in after_plan.estimate_notes)

    # Reflected on again (unchanged records): one reflection, one insight memory still active.
    again = await stack.observer.weekly(WeeklyTrigger(user_id=USER, week=week))
    assert (again.reflections[0].id, again.reflections[0].revision) == (reflection.id, reflection.revision)
    filters = RecallFilters(sources=["observer-agent"], metadata={"insight": "estimate_factor"})
    assert len((await stack.memory.recall(USER, "writing estimate", filters=filters)).hits) == 1
