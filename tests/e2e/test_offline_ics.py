"""The whole loop with no account anywhere, the stack as `pma up` runs it, over HTTP: an intent planned by the
offline planner (no LLM key) -> accepted and scheduled -> the blocks in the user's ICS feed -> the work
recorded -> the daily and weekly reflections (the offline narrative, kept in the observer: no Coda) -> the
weekly insight remembered -> the next plan's estimates use it, and say so.

No fake is needed: nothing in this story talks to a third party.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest
from four_services import Clients
from icalendar import Calendar

from pma_core.contracts.plans import PlanAccept, PlanCreate, PlanRead
from pma_core.contracts.reflections import DailyMetrics, ReflectionRead
from pma_core.contracts.tasks import TaskRead
from pma_core.settings import ServiceUrls

from .conftest import StartStack
from .stack import Stack
from .story import (
    expected_insight,
    planned_blocks,
    record_runs,
    reflect,
    remembered_insight,
    until_scheduled,
    working_profile,
    yesterday,
)

USER = "e2e-otto"
INTENT = "Write the welcome email, the launch post, the FAQ and the press release for the bakery"
NEXT_INTENT = "Write a thank-you letter to our flour suppliers"
TAG = "write"  # the offline planner tags every task of the write playbook with it


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> Stack:
    def offline(urls: ServiceUrls) -> Mapping[str, str]:
        return {}  # no LLM key, no Google client, no Coda: the defaults of a fresh `make dev`

    return start_stack(offline)


async def plan_offline(clients: Clients) -> PlanRead:
    plan = await clients.planner.create_plan(PlanCreate(user_id=USER, intent=INTENT))
    assert (plan.planner, plan.planned_offline, plan.model, plan.usage.total_tokens) == ("offline", True, None, 0)
    titles = [task.title for task in plan.tasks]
    for deliverable in ("the welcome email", "the launch post", "the FAQ", "the press release"):
        assert f"Write {deliverable}" in titles
    assert all(TAG in task.tags for task in plan.tasks)
    return plan


async def accept_onto_the_feed(clients: Clients, plan: PlanRead) -> PlanRead:
    await clients.planner.accept_plan(plan.id, PlanAccept(user_id=USER, schedule=True))
    scheduled = await until_scheduled(clients, plan)
    assert scheduled.scheduling.outcome is not None
    assert scheduled.scheduling.outcome.scheduled_tasks == len(plan.tasks), scheduled.scheduling
    run = await clients.scheduler.get_run(USER, scheduled.scheduling.outcome.run_id)
    assert (run.status, run.calendar_error) == ("succeeded", None)
    blocks = await planned_blocks(clients, USER)
    assert {block.task_id for block in blocks} == {task.id for task in plan.tasks}

    # The feed is public by its secret URL (a calendar app sends no token) and holds exactly those blocks.
    async with httpx.AsyncClient() as calendar_app:
        feed = await calendar_app.get(await clients.scheduler.feed_url(USER))
    assert (feed.status_code, feed.headers["content-type"].split(";")[0]) == (200, "text/calendar")
    events = {str(event["uid"]): event for event in Calendar.from_ical(feed.content).walk("VEVENT")}
    assert set(events) == {str(block.id) for block in blocks}
    for block in blocks:
        event = events[str(block.id)]
        assert (event.decoded("dtstart"), event.decoded("dtend")) == (block.start, block.end)
        assert str(event["summary"]) == block.title
    return scheduled


def _estimates(plan: PlanRead) -> dict[str, int]:
    return {task.title: task.estimate_minutes for task in plan.tasks}


async def assert_kept_locally(clients: Clients, daily: ReflectionRead, weekly: ReflectionRead) -> None:
    for reflection in (daily, weekly):
        assert reflection.narrative_source == "offline"
        assert reflection.posting.status == "unposted"
    stored = (await clients.observer.list_reflections(USER)).reflections
    assert sorted((r.kind, r.period) for r in stored) == sorted([("daily", daily.period), ("weekly", weekly.period)])
    assert weekly.chart_url is not None
    async with httpx.AsyncClient() as browser:  # the chart's link is its secret, as the Coda row would use it
        chart = await browser.get(weekly.chart_url)
    assert chart.status_code == 200
    assert "<svg" in chart.text


def _scaled(minutes: int, factor: float) -> int:
    return 5 * round(minutes * factor / 5)  # docs/planner.md: estimates are rounded to 5 minutes


def assert_next_plan_uses(after: PlanRead, before: PlanRead, factor: float, window: str) -> None:
    base = _estimates(before)
    assert _estimates(after) == {title: _scaled(minutes, factor) for title, minutes in base.items()}
    [note] = after.estimate_notes
    assert note.startswith(f"{TAG} x{factor:.2f} (observer insight, 5 runs {window}): "), note
    for task in before.tasks:
        assert f"'{task.title}' {task.estimate_minutes} -> {_scaled(task.estimate_minutes, factor)} min" in note


async def test_intent_to_the_ics_feed_to_a_local_reflection_and_into_the_next_plan(clients: Clients) -> None:
    await clients.scheduler.put_profile(USER, working_profile())
    before = await clients.planner.create_plan(PlanCreate(user_id=USER, intent=NEXT_INTENT))
    assert before.estimate_notes == []

    plan = await accept_onto_the_feed(clients, await plan_offline(clients))

    day = yesterday()
    done: list[TaskRead] = plan.tasks[:5]
    week = await record_runs(clients, done, day)
    history_only = await clients.planner.create_plan(PlanCreate(user_id=USER, intent=NEXT_INTENT))
    assert _estimates(history_only) == _estimates(before)  # the runs' median ratio is 1.0

    daily, weekly = await reflect(clients, USER, day)
    assert isinstance(daily.metrics, DailyMetrics)
    assert (daily.metrics.actual_minutes, daily.metrics.tasks_done_unplanned) == (week.actual_minutes, len(done))
    await assert_kept_locally(clients, daily, weekly)

    insight = expected_insight(week, weekly, tag=TAG)
    assert weekly.insights == [insight]  # the other tags have fewer than five runs
    hit = await remembered_insight(clients, USER)
    assert f"{TAG} tasks take x{insight.factor:.2f} their estimate" in hit.memory.text

    after = await clients.planner.create_plan(PlanCreate(user_id=USER, intent=NEXT_INTENT))
    assert_next_plan_uses(after, before, insight.factor, f"{insight.window_from}..{insight.window_to}")
