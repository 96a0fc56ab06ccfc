"""Access control on every service, all four on real ports with PMA_API_TOKEN set: an outside caller needs a
token, the services pass theirs to each other (a plan recalls memories, is scheduled and reported back, a
reflection reads the planner, the scheduler and the memory-gateway), and the doors that carry their own
secret (the ICS feed, Google's OAuth redirect) stay open without one."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from four_services import Clients, start_four_services, until_scheduled
from pydantic import SecretStr

from pma_core.contracts.memory import MemoryCreate
from pma_core.contracts.plans import PlanAccept, PlanCreate
from pma_core.contracts.reflections import DailyMetrics, DailyTrigger, WeeklyTrigger
from pma_core.contracts.scheduling import SchedulingProfile
from pma_core.settings import AccessSettings, PostgresSettings, ServiceUrls, ValkeySettings

USER = "ines"
NEW, OLD = "pma-token-new-9d1f", "pma-token-old-3c7a"
ADMIN = "pma-admin-token-51e2"


@pytest.fixture
async def guarded(
    postgres_settings: PostgresSettings,
    valkey_settings: ValkeySettings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[tuple[Clients, ServiceUrls]]:
    caplog.set_level(logging.DEBUG)
    access = AccessSettings(api_token=SecretStr(f"{NEW},{OLD}"), admin_token=SecretStr(ADMIN))
    async with AsyncExitStack() as running:
        urls = await start_four_services(
            running, postgres=postgres_settings, valkey=valkey_settings, data_dir=tmp_path, access=access
        )
        clients = Clients(urls, bearer_token=OLD)  # an outside caller still on the old token of a rotation
        running.push_async_callback(clients.aclose)
        yield clients, urls
    for token in (NEW, OLD, ADMIN):
        assert token not in caplog.text


def _service_calls(urls: ServiceUrls) -> dict[str, tuple[str, str]]:
    """One ordinary read of each service."""
    return {
        "memory-gateway": ("GET", f"{urls.memory_gateway_url}/v1/sessions?user_id={USER}"),
        "planner-engine": ("GET", f"{urls.planner_engine_url}/v1/plans?user_id={USER}"),
        "scheduler-engine": ("GET", f"{urls.scheduler_engine_url}/v1/profiles/{USER}"),
        "observer-agent": ("GET", f"{urls.observer_agent_url}/v1/reflections?user_id={USER}"),
    }


async def test_every_service_refuses_a_caller_without_the_token(guarded: tuple[Clients, ServiceUrls]) -> None:
    _, urls = guarded
    async with httpx.AsyncClient(timeout=10) as http:
        for service, (method, url) in _service_calls(urls).items():
            missing = await http.request(method, url)
            wrong = await http.request(method, url, headers={"Authorization": "Bearer not-it"})
            assert (missing.status_code, wrong.status_code) == (401, 401), service
            assert missing.json()["error"]["code"] == "unauthorized", service
            for token in (NEW, OLD):
                allowed = await http.request(method, url, headers={"Authorization": f"Bearer {token}"})
                assert allowed.status_code == 200, (service, allowed.text)
            base = url.split("/v1/")[0]
            for path in ("/healthz", "/readyz", "/metrics"):
                assert (await http.get(base + path)).status_code == 200, (service, path)


async def test_admin_operations_need_the_admin_token(guarded: tuple[Clients, ServiceUrls]) -> None:
    _, urls = guarded
    template = {"body": "Plan {{intent}}", "variables": ["intent"]}
    calls = {
        "reindex": ("POST", f"{urls.memory_gateway_url}/v1/admin/reindex", {}),
        "delete a user": ("DELETE", f"{urls.memory_gateway_url}/v1/users/{USER}", None),
        "prompt version": ("POST", f"{urls.planner_engine_url}/v1/prompt-templates/planner.plan/versions", template),
        "activate": ("POST", f"{urls.planner_engine_url}/v1/prompt-templates/planner.plan/versions/1/activate", {}),
    }
    async with httpx.AsyncClient(timeout=10) as http:
        for name, (method, url, body) in calls.items():
            ordinary = await http.request(method, url, json=body, headers={"Authorization": f"Bearer {NEW}"})
            assert ordinary.status_code == 403, (name, ordinary.text)
            assert ordinary.json()["error"]["code"] == "forbidden", name
            admin = await http.request(method, url, json=body, headers={"Authorization": f"Bearer {ADMIN}"})
            assert admin.status_code in (200, 201, 202), (name, admin.text)
        listed = await http.get(
            f"{urls.planner_engine_url}/v1/prompt-templates", headers={"Authorization": f"Bearer {OLD}"}
        )
    assert listed.status_code == 200  # reading the prompts is not an admin operation


async def test_the_services_call_each_other_with_their_token(guarded: tuple[Clients, ServiceUrls]) -> None:
    clients, urls = guarded
    await clients.scheduler.put_profile(USER, SchedulingProfile(time_zone="UTC"))
    await clients.memory.remember(
        MemoryCreate(user_id=USER, kind="preference", text="Newsletter work goes in the mornings")
    )
    draft = await clients.planner.create_plan(PlanCreate(user_id=USER, intent="Write the newsletter"))
    assert draft.recalled, draft.warnings  # planner -> memory-gateway recall went through
    accepted = await clients.planner.accept_plan(draft.id, PlanAccept(user_id=USER, schedule=True))
    plan = await until_scheduled(clients.planner, accepted)  # planner -> scheduler, scheduler -> planner's report
    assert plan.scheduling.outcome is not None
    assert plan.scheduling.outcome.status == "succeeded"
    assert all(task.schedule is not None for task in plan.tasks)

    # observer -> planner, scheduler (both critical: a refused token would be a 502) and memory-gateway.
    [reflection] = (await clients.observer.daily(DailyTrigger(user_id=USER, default_day="today"))).reflections
    assert isinstance(reflection.metrics, DailyMetrics)
    # Today's plan reached the observer from the planner (its blocks may lie tomorrow: after working hours the
    # scheduler places them there, so planned tasks today would depend on the time of day).
    assert reflection.metrics.plans_created == 1
    sources = reflection.metrics.sources
    assert (sources["planner"], sources["scheduler"], sources["events"]) == ("ok", "ok", "ok")
    assert sources["meetings"].startswith("none")  # scheduler -> busy answered: no Google connection

    # A calendar app, Google's redirect and Coda following a chart link carry no bearer token: the feed's
    # token, OAuth's state and the reflection's random id guard them.
    [week] = (await clients.observer.weekly(WeeklyTrigger(user_id=USER))).reflections
    assert week.chart_url is not None
    feed_url = await clients.scheduler.feed_url(USER)
    async with httpx.AsyncClient(timeout=10) as http:
        chart = await http.get(week.chart_url)
        by_name = await http.get(f"{urls.observer_agent_url}/v1/reflections/{USER}/weekly/{week.period}/chart.svg")
        feed = await http.get(feed_url)
        callback = await http.get(f"{urls.scheduler_engine_url}/v1/oauth/google/callback?state=unknown&code=x")
        stranger = await http.get(feed_url.split("?")[0] + "?token=guessed")
    assert (chart.status_code, by_name.status_code) == (200, 401)
    assert "<svg" in chart.text
    assert feed.status_code == 200
    placed = [block.block_id for task in plan.tasks if task.schedule for block in task.schedule.blocks]
    assert placed
    assert all(str(block_id) in feed.text for block_id in placed)
    assert callback.status_code not in (401, 403)
    assert stranger.status_code == 404  # a guessed feed token is still nobody's
