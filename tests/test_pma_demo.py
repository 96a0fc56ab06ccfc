"""`pma demo` against the four services on real ports (as `make dev` runs them, offline, ICS calendar, no Coda):
each step leaves what it says, the URLs it prints answer, a second run still works, and `--forget` leaves
nothing of the demo user in any service."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from four_services import Clients, start_four_services
from rich.console import Console

from pma_core.cli.demo import FACTS, DemoClients, DemoError, demo_clients, forget_demo, run_demo
from pma_core.embedded.process import free_port
from pma_core.settings import PostgresSettings, ServiceUrls, ValkeySettings

USER = "demo-test"


@pytest.fixture
async def urls(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path
) -> AsyncIterator[ServiceUrls]:
    async with AsyncExitStack() as running:
        yield await start_four_services(running, postgres=postgres_settings, valkey=valkey_settings, data_dir=tmp_path)


@pytest.fixture
async def demo(urls: ServiceUrls) -> AsyncIterator[DemoClients]:
    async with demo_clients(urls) as clients:
        yield clients


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=160, color_system=None), out


async def test_the_demo_runs_the_whole_loop_and_prints_where_to_look(demo: DemoClients, urls: ServiceUrls) -> None:
    console, out = _console()
    result = await run_demo(demo, console, user_id=USER)
    printed = out.getvalue()

    assert result.plan.planned_offline
    assert result.plan.tasks
    outcome = result.plan.scheduling.outcome
    assert outcome is not None
    assert outcome.scheduled_tasks >= 1, result.plan.scheduling
    async with httpx.AsyncClient() as http:
        feed = await http.get(result.feed_url)
        assert (feed.status_code, feed.headers["content-type"].split(";")[0]) == (200, "text/calendar")
        assert feed.text.count("BEGIN:VEVENT") == sum(
            len(task.schedule.blocks) for task in result.plan.tasks if task.schedule
        )
        assert result.weekly.chart_url is not None
        chart = await http.get(result.weekly.chart_url)
        assert chart.status_code == 200
        assert "<svg" in chart.text
    # The task recorded as done shows in the day's figures; nothing went to Coda (not configured).
    assert result.daily.metrics.tasks_done + result.daily.metrics.tasks_done_unplanned == 1  # type: ignore[union-attr]
    assert result.daily.posting.status == "unposted"
    assert "Coda Daily Thread: unposted" in printed
    assert {text for _, text in FACTS} <= set(result.recalled)

    assert result.feed_url in printed
    assert "pma demo --forget" in printed
    for url in (urls.memory_gateway_url, urls.planner_engine_url, urls.scheduler_engine_url):
        assert f"{url}/docs" in printed
    assert re.search(r"run (succeeded|partial): \d+ placed", printed), printed


async def test_a_second_run_works_and_forget_leaves_nothing_in_any_service(
    demo: DemoClients, urls: ServiceUrls
) -> None:
    console, _ = _console()
    await run_demo(demo, console, user_id=USER)
    again = await run_demo(demo, console, user_id=USER)
    assert again.plan.scheduling.outcome is not None

    deleted = await forget_demo(demo, console, user_id=USER)
    assert set(deleted) == {"memory-gateway", "planner-engine", "scheduler-engine", "observer-agent"}
    assert all(sum(counts.values()) > 0 for counts in deleted.values()), deleted

    clients = Clients(urls)
    try:
        assert (await clients.memory.recall(USER, "newsletter")).hits == []
        assert (await clients.planner.list_plans(USER)).plans == []
        now = datetime.now(UTC)
        blocks = await clients.scheduler.list_blocks(USER, now - timedelta(days=1), now + timedelta(days=30))
        assert blocks.blocks == []
        assert (await clients.observer.list_reflections(USER)).reflections == []
    finally:
        await clients.aclose()
    assert sum(sum(counts.values()) for counts in (await forget_demo(demo, console, user_id=USER)).values()) == 0


async def test_without_a_running_stack_it_says_to_start_one() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    down = ServiceUrls(
        memory_gateway_url=closed, planner_engine_url=closed, scheduler_engine_url=closed, observer_agent_url=closed
    )
    console, _ = _console()
    async with demo_clients(down) as clients:
        with pytest.raises(DemoError, match="make dev"):
            await run_demo(clients, console, user_id=USER)
