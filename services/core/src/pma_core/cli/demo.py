"""`pma demo`: the whole loop against a running local stack (`make dev`), with no account anywhere.

Remember two facts -> plan an intent (the offline planner when no LLM key is set) -> accept it and let the
scheduler place its tasks on the ICS calendar -> record one task as done -> a daily and a weekly reflection
(kept locally when Coda is not configured) -> recall what memory now holds. Everything is written under one
user id (`demo` unless given), which `pma demo --forget` deletes from all four services.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from rich.console import Console
from rich.table import Table

from pma_core.clients import MemoryGatewayClient, ObserverAgentClient, PlannerEngineClient, SchedulerEngineClient
from pma_core.contracts.executions import ExecutionCreate
from pma_core.contracts.memory import MemoryCreate
from pma_core.contracts.plans import PlanAccept, PlanCreate, PlanRead
from pma_core.contracts.reflections import DailyTrigger, ReflectionRead, WeeklyTrigger
from pma_core.contracts.scheduling import SchedulingProfile
from pma_core.errors import UnavailableError
from pma_core.settings import ServiceUrls

DEMO_USER = "demo"
INTENT = "Write and send the weekly newsletter"
FACTS = (
    ("preference", "I do my best writing before noon"),
    ("fact", "The newsletter goes out every Thursday to 1,200 subscribers"),
)
T = TypeVar("T")


class DemoError(RuntimeError):
    """The demo could not go on (a service not running, a step that failed); the message says what to do."""


@dataclass
class DemoClients:
    memory: MemoryGatewayClient
    planner: PlannerEngineClient
    scheduler: SchedulerEngineClient
    observer: ObserverAgentClient

    def all(self) -> tuple[MemoryGatewayClient, PlannerEngineClient, SchedulerEngineClient, ObserverAgentClient]:
        return (self.memory, self.planner, self.scheduler, self.observer)


@dataclass
class DemoResult:
    """What the demo left behind, to look at (and what its test checks)."""

    user_id: str
    plan: PlanRead
    feed_url: str
    daily: ReflectionRead
    weekly: ReflectionRead
    recalled: list[str]


@asynccontextmanager
async def demo_clients(urls: ServiceUrls, *, bearer_token: str | None = None) -> AsyncIterator[DemoClients]:
    clients = DemoClients(
        memory=MemoryGatewayClient(urls.memory_gateway_url, timeout=30.0, bearer_token=bearer_token),
        planner=PlannerEngineClient(urls.planner_engine_url, timeout=30.0, bearer_token=bearer_token),
        scheduler=SchedulerEngineClient(urls.scheduler_engine_url, timeout=30.0, bearer_token=bearer_token),
        observer=ObserverAgentClient(urls.observer_agent_url, timeout=60.0, bearer_token=bearer_token),
    )
    try:
        yield clients
    finally:
        for client in clients.all():
            await client.aclose()


async def check_running(clients: DemoClients) -> None:
    for client in clients.all():
        try:
            await client.healthz()
        except UnavailableError as exc:
            raise DemoError(
                f"{client.service_name} does not answer at {client.base_url}: start the stack with "
                "`make dev` (or `pma up`) in another terminal, then run `pma demo` again"
            ) from exc


async def run_demo(clients: DemoClients, console: Console, *, user_id: str = DEMO_USER) -> DemoResult:
    """The story, step by step, printed as it goes."""
    await check_running(clients)
    console.rule(f"[bold]Planner & Memory demo[/bold], as user [cyan]{user_id}[/cyan]")
    await _step(console, "1. Remember two facts", _remember(clients, console, user_id))
    await clients.scheduler.put_profile(user_id, SchedulingProfile(time_zone="UTC"))
    planned = await _step(console, "2. Plan an intent", _plan(clients, console, user_id))
    plan, feed_url = await _step(
        console, "3. Accept it: the scheduler places the tasks", _schedule(clients, console, planned)
    )
    await _step(console, "4. Do the first task", _execute(clients, console, plan))
    daily, weekly = await _step(console, "5. Reflect on the day and the week", _reflect(clients, console, user_id))
    recalled = await _step(console, "6. Recall: what memory holds now", _recall(clients, console, user_id))
    result = DemoResult(user_id, plan, feed_url, daily, weekly, recalled)
    _print_links(console, clients, result)
    return result


async def forget_demo(clients: DemoClients, console: Console, *, user_id: str = DEMO_USER) -> dict[str, dict[str, int]]:
    """Delete everything of `user_id` from the four services (each deletes what it owns)."""
    await check_running(clients)
    deleted = {client.service_name: await client.delete_user(user_id) for client in clients.all()}
    for service, counts in deleted.items():
        rows = ", ".join(f"{table} {count}" for table, count in counts.items() if count) or "nothing"
        console.print(f"[bold]{service}[/bold]: deleted {rows}")
    return deleted


async def _step(console: Console, title: str, work: Awaitable[T]) -> T:
    console.print(f"\n[bold magenta]{title}[/bold magenta]")
    return await work


async def _remember(clients: DemoClients, console: Console, user_id: str) -> None:
    for kind, text in FACTS:
        stored = await clients.memory.remember(
            MemoryCreate(user_id=user_id, kind=kind, text=text, source="pma-demo", idempotency_key=f"demo:{text}")
        )
        console.print(f"  {stored.outcome:<10} [dim]{kind}[/dim] {text}")


async def _plan(clients: DemoClients, console: Console, user_id: str) -> PlanRead:
    plan = await clients.planner.create_plan(PlanCreate(user_id=user_id, intent=INTENT))
    how = "offline planner (no LLM key set)" if plan.planned_offline else f"LLM {plan.model}"
    console.print(f"  [cyan]{plan.intent}[/cyan] -> {len(plan.tasks)} tasks, by the {how}")
    table = Table("#", "task", "minutes", "tags", box=None, padding=(0, 2))
    for task in plan.tasks:
        table.add_row(str(task.position + 1), task.title, str(task.estimate_minutes), ", ".join(task.tags))
    console.print(table)
    for recalled in plan.recalled[:3]:
        console.print(f"  recalled from memory: [green]{recalled.text}[/green]")
    for note in plan.estimate_notes:
        console.print(f"  estimate note: {note}")
    return plan


async def _schedule(clients: DemoClients, console: Console, plan: PlanRead) -> tuple[PlanRead, str]:
    await clients.planner.accept_plan(plan.id, PlanAccept(user_id=plan.user_id, schedule=True))
    scheduled = await _until(lambda: clients.planner.get_plan(plan.user_id, plan.id), _has_outcome, seconds=60)
    outcome = scheduled.scheduling.outcome
    assert outcome is not None  # _has_outcome
    console.print(f"  run {outcome.status}: {outcome.scheduled_tasks} placed, {outcome.unscheduled_tasks} did not fit")
    for task in scheduled.tasks:
        for block in task.schedule.blocks if task.schedule else []:
            console.print(f"  {block.start:%a %d %b %H:%M}-{block.end:%H:%M} UTC  {task.title}")
    return scheduled, await clients.scheduler.feed_url(plan.user_id)


def _has_outcome(plan: PlanRead) -> bool:
    return plan.scheduling.outcome is not None


async def _execute(clients: DemoClients, console: Console, plan: PlanRead) -> None:
    task = plan.tasks[0]
    finished = datetime.now(UTC).replace(microsecond=0)
    actual = task.estimate_minutes + 15  # a little over, as first drafts go
    # A day counts the runs that started in it: run just after midnight (UTC, the demo user's zone), a start
    # `actual` minutes back fell on yesterday and today's reflection showed nothing done.
    started = max(finished - timedelta(minutes=actual), finished.replace(hour=0, minute=0, second=0))
    await clients.planner.record_execution(
        ExecutionCreate(
            user_id=plan.user_id, task_id=task.id, status="succeeded", started_at=started,
            finished_at=finished, actual_minutes=actual, idempotency_key=f"demo:{plan.id}:{task.id}",
        )
    )  # fmt: skip
    console.print(f"  done: {task.title} in {actual} minutes (estimated {task.estimate_minutes})")


async def _reflect(clients: DemoClients, console: Console, user_id: str) -> tuple[ReflectionRead, ReflectionRead]:
    daily = (await clients.observer.daily(DailyTrigger(user_id=user_id, default_day="today"))).reflections[0]
    year, week, _ = datetime.now(UTC).date().isocalendar()
    weekly = (await clients.observer.weekly(WeeklyTrigger(user_id=user_id, week=f"{year}-W{week:02d}"))).reflections[0]
    for reflection in (daily, weekly):
        console.print(
            f"  [bold]{reflection.kind} {reflection.period}[/bold] ({reflection.narrative_source}): "
            f"{reflection.narrative.summary}"
        )
        console.print(f"    change next: {reflection.narrative.change_for_tomorrow}")
        console.print(f"    Coda Daily Thread: {reflection.posting.status}")
    return daily, weekly


async def _recall(clients: DemoClients, console: Console, user_id: str) -> list[str]:
    recalled = await clients.memory.recall(user_id, "newsletter writing", limit=5)
    for hit in recalled.hits:
        console.print(f"  {hit.score:.2f}  {hit.memory.text}")
    return [hit.memory.text for hit in recalled.hits]


def _print_links(console: Console, clients: DemoClients, result: DemoResult) -> None:
    console.rule("[bold]Look at it")
    console.print(f"  calendar (subscribe in any calendar app): {result.feed_url}")
    if result.weekly.chart_url:
        console.print(f"  the week's chart:  {result.weekly.chart_url}")
    for client in clients.all():
        console.print(f"  {client.service_name + ' API':<22} {client.base_url}/docs")
    console.print(
        f"\n  Everything above belongs to user [cyan]{result.user_id}[/cyan]; "
        f"delete it with [bold]pma demo --forget[/bold]."
    )


async def _until(read: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, seconds: float) -> T:
    # Polling over HTTP: the scheduler reports to the planner in the background, nothing here to wait on.
    async with asyncio.timeout(seconds):
        while True:
            current = await read()
            if done(current):
                return current
            await asyncio.sleep(0.2)
