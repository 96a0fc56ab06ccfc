"""The whole loop on the connected path, the stack as `pma up` runs it, over HTTP: an intent planned by the
LLM -> accepted and scheduled -> the blocks on the user's Google Calendar -> the user drags one block onto
another's time -> a reschedule keeps it where they put it and moves the other -> the work recorded ->
the daily and weekly reflections (worded by the LLM) -> their rows in the Coda Daily Thread -> the weekly
insight remembered -> the next plan's prompt carries it.

Google (OAuth consent, token endpoint and Calendar API), Coda and the OpenAI-compatible LLM are loopback
fakes in this process; everything else is real and runs in its own process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import UUID

import httpx
import pytest
from cryptography.fernet import Fernet
from four_services import Clients

from pma_core.contracts.plans import PlanAccept, PlanCreate, PlanRead
from pma_core.contracts.reflections import DailyMetrics, ReflectionRead
from pma_core.contracts.scheduling import RunCreate, RunRead
from pma_core.settings import ServiceUrls
from pma_core.testing.fake_coda import FakeCoda
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar
from pma_core.testing.fake_openai import FakeOpenAIServer

from .conftest import StartStack
from .stack import Stack
from .story import (
    eventually,
    expected_insight,
    overlaps,
    planned_blocks,
    record_runs,
    reflect,
    remembered_insight,
    until_scheduled,
    working_profile,
    yesterday,
)

USER = "e2e-ada"
ACCOUNT = "ada@example.com"  # her Google account
INTENT = "Write the spring newsletter for the bakery"
NEXT_INTENT = "Write a thank-you letter to our flour suppliers"
DOC, TABLE = "doc-e2e", "grid-daily-thread"
COLUMNS = {
    "c-key": "Key", "c-user": "User", "c-date": "Date", "c-kind": "Kind", "c-title": "Title",
    "c-summary": "Summary", "c-metrics": "Metrics", "c-suggestions": "Suggestions", "c-chart": "Chart",
    "c-updated": "Updated",
}  # fmt: skip


def _task(key: str, title: str, minutes: int, *, after: tuple[str, ...] = (), step: int = 1) -> dict[str, Any]:
    return {
        "key": key, "title": title, "description": f"{title}.", "estimate_minutes": minutes, "priority": "normal",
        "earliest_start": None, "deadline": None, "depends_on": list(after), "splittable": False,
        "min_chunk_minutes": None, "tags": ["writing"], "step": step,
    }  # fmt: skip


def _draft(title: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    steps = [{"title": name, "purpose": f"{name}.", "inputs": [], "done_criteria": [f"{name} done"]}
             for name in ("Write", "Polish")]  # fmt: skip
    return {"sop": {"title": title, "summary": f"How to: {title}.", "steps": steps}, "tasks": tasks}


# What the model answers: t4 stands alone, so the user can put it anywhere.
PLAN_REPLY = _draft("Spring newsletter", [
    _task("t1", "Outline the spring issue", 30), _task("t2", "Draft the lead story", 60, after=("t1",)),
    _task("t3", "Draft the new-bread corner", 40, after=("t1",)),
    _task("t4", "Write the subject lines", 30, step=2),
    _task("t5", "Edit the spring issue", 40, after=("t2", "t3"), step=2),
])  # fmt: skip
NEXT_REPLY = _draft("Supplier letter", [_task("t1", "Write the letter to the mill", 45)])
NARRATIVE = {
    "summary": "Everything got written; the edit took three times its estimate.", "wins": ["Five tasks done"],
    "blockers": [], "slipped": "Nothing slipped.", "change_for_tomorrow": "Give editing more time.",
    "suggestions": [{"text": "Plan edits at 1.5x", "evidence": "the edit took 120 of 40 minutes"}],
}  # fmt: skip


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture(scope="module")
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as fake:
        yield fake


@pytest.fixture(scope="module")
def coda() -> Iterator[FakeCoda]:
    with FakeCoda(mutation_delay=0.05) as fake:
        fake.add_table(DOC, TABLE, columns=COLUMNS, name="Daily Thread")
        yield fake


@pytest.fixture(scope="module")
def stack(start_stack: StartStack, llm: FakeOpenAIServer, google: FakeGoogleCalendar, coda: FakeCoda) -> Stack:
    def connected(urls: ServiceUrls) -> Mapping[str, str]:
        columns = {f"CODA_COLUMN_{column[2:].upper()}": column for column in COLUMNS}
        return columns | {
            "LLM_API_KEY": llm.api_key, "LLM_BASE_URL": llm.base_url, "LLM_MODEL": "fake/chat-model",
            "LLM_TIMEOUT_SECONDS": "10", "LLM_MAX_RETRIES": "1",
            "GOOGLE_CLIENT_ID": google.client_id, "GOOGLE_CLIENT_SECRET": google.client_secret,
            "GOOGLE_TOKEN_KEY": Fernet.generate_key().decode(), "GOOGLE_TOKEN_URI": google.token_url,
            "GOOGLE_AUTH_URI": f"{google.root_url}/o/oauth2/v2/auth", "GOOGLE_API_ENDPOINT": google.url,
            "GOOGLE_REDIRECT_URI": f"{urls.scheduler_engine_url}/v1/oauth/google/callback",
            "CODA_API_TOKEN": coda.token, "CODA_BASE_URL": coda.url, "CODA_DOC_ID": DOC, "CODA_TABLE_ID": TABLE,
        }  # fmt: skip

    return start_stack(connected)


def _at(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _event_id(block_id: UUID) -> str:
    return "pma" + block_id.hex  # docs/scheduler.md: our deterministic event id


async def connect_google(stack: Stack, google: FakeGoogleCalendar) -> None:
    """The user (signed in: the API token) starts the web flow; the browser plays Google's consent and
    follows its redirect to the callback, which needs no token."""
    base = stack.urls.scheduler_engine_url
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {stack.token}"}) as user:
        start = await user.get("/v1/oauth/google/start", params={"user_id": USER})
    assert start.status_code == 307, start.text
    consent = {key: values[0] for key, values in parse_qs(urlparse(start.headers["location"]).query).items()}
    code = google.issue_authorization_code(
        ACCOUNT, redirect_uri=consent["redirect_uri"], code_challenge=consent["code_challenge"]
    )
    async with httpx.AsyncClient() as browser:
        back = await browser.get(consent["redirect_uri"], params={"state": consent["state"], "code": code})
    assert (back.status_code, back.json()) == (200, {"user_id": USER, "connected": True})


async def plan_with_the_llm(clients: Clients, llm: FakeOpenAIServer) -> PlanRead:
    llm.reply_json(PLAN_REPLY)
    plan = await clients.planner.create_plan(PlanCreate(user_id=USER, intent=INTENT))
    [request] = llm.chat_requests
    assert INTENT in request.body["messages"][1]["content"]
    assert (plan.planner, plan.planned_offline, plan.model) == ("llm", False, "fake/chat-model")
    assert [(t.key, t.title, t.estimate_minutes) for t in plan.tasks] == [
        (t["key"], t["title"], t["estimate_minutes"]) for t in PLAN_REPLY["tasks"]
    ]
    return plan


async def accept_onto_google(clients: Clients, plan: PlanRead, google: FakeGoogleCalendar) -> PlanRead:
    await clients.planner.accept_plan(plan.id, PlanAccept(user_id=USER, schedule=True))
    scheduled = await until_scheduled(clients, plan)
    assert scheduled.scheduling.outcome is not None
    assert scheduled.scheduling.outcome.scheduled_tasks == len(plan.tasks), scheduled.scheduling
    _assert_google_holds(await planned_blocks(clients, USER), google)
    return scheduled


def _assert_google_holds(blocks: list[Any], google: FakeGoogleCalendar) -> None:
    """Exactly our blocks are on her calendar, each at its block's times, carrying the block's id."""
    assert blocks
    events = {event["id"]: event for event in google.events(ACCOUNT)}
    assert set(events) == {_event_id(block.id) for block in blocks}
    for block in blocks:
        event = events[_event_id(block.id)]
        assert event["extendedProperties"]["private"]["pma_block_id"] == str(block.id)
        assert (_at(event["start"]["dateTime"]), _at(event["end"]["dateTime"])) == (block.start, block.end)


def drag_onto_another(plan: PlanRead, google: FakeGoogleCalendar) -> tuple[UUID, datetime, datetime, UUID]:
    """In her calendar, the user drags t4's block onto t1's time: (t4's block, its new times, t1's block)."""
    blocks = {task.key: task.schedule.blocks[0] for task in plan.tasks if task.schedule and task.schedule.blocks}
    moved, taken = blocks["t4"], blocks["t1"]
    start, end = taken.start, taken.start + (moved.end - moved.start)
    google.move_event(ACCOUNT, _event_id(moved.block_id), start=start, end=end)
    return moved.block_id, start, end, taken.block_id


async def reschedule(clients: Clients, plan: PlanRead) -> RunRead:
    accepted = await clients.scheduler.create_run(RunCreate(user_id=USER, plan_id=plan.id))
    return await eventually(
        lambda: clients.scheduler.get_run(USER, accepted.run_id),
        lambda run: run.status in ("succeeded", "partial", "failed"),
        what="the reschedule run",
    )


async def assert_the_move_stands(
    clients: Clients, run: RunRead, moved: tuple[UUID, datetime, datetime, UUID], google: FakeGoogleCalendar
) -> None:
    block_id, start, end, displaced = moved
    assert (run.status, run.calendar_error, run.error) == ("succeeded", None, None)
    [kept] = [block for block in run.blocks if block.id == block_id]
    assert (kept.start, kept.end, kept.pinned) == (start, end, True)
    blocks = await planned_blocks(clients, USER)
    assert [b.id for b in blocks if overlaps(b, start, end)] == [block_id]
    [other] = [block for block in blocks if block.id == displaced]
    assert other.start != start  # t1 moved out of her way (before or after her block: the solver's choice)
    assert (run.moved or 0) >= 1
    changes = (await clients.scheduler.changes(USER)).changes
    assert [(c.kind, c.block_id) for c in changes] == [("moved", block_id)]
    _assert_google_holds(blocks, google)


async def _posted(clients: Clients, reflection: ReflectionRead) -> ReflectionRead:
    return await eventually(
        lambda: clients.observer.get_reflection(USER, reflection.id),
        lambda current: current.posting.status == "posted",
        what=f"the {reflection.kind} reflection posted to Coda",
    )


async def assert_rows_in_coda(clients: Clients, coda: FakeCoda, daily: ReflectionRead, weekly: ReflectionRead) -> None:
    for reflection in (daily, weekly):
        posted = await _posted(clients, reflection)
        assert posted.narrative_source == "llm"
        assert posted.narrative.summary == NARRATIVE["summary"]
    assert coda.key_counts(DOC, TABLE, "c-key") == Counter({daily.key: 1, weekly.key: 1})
    rows = {row["values"]["c-key"]: row["values"] for row in coda.rows(DOC, TABLE)}
    assert NARRATIVE["summary"] in rows[daily.key]["c-summary"]
    assert rows[weekly.key]["c-chart"] == weekly.chart_url


async def test_intent_to_google_calendar_to_coda_and_into_the_next_plan(
    stack: Stack, clients: Clients, llm: FakeOpenAIServer, google: FakeGoogleCalendar, coda: FakeCoda
) -> None:
    await clients.scheduler.put_profile(USER, working_profile())
    await connect_google(stack, google)

    plan = await accept_onto_google(clients, await plan_with_the_llm(clients, llm), google)

    moved = drag_onto_another(plan, google)
    run = await reschedule(clients, plan)
    await assert_the_move_stands(clients, run, moved, google)
    rescheduled = await until_scheduled(clients, plan, run_id=run.id)  # the planner learnt the new blocks
    [t4] = [task for task in rescheduled.tasks if task.key == "t4"]
    assert t4.schedule is not None
    assert [(b.block_id, b.start, b.end) for b in t4.schedule.blocks] == [moved[:3]]

    day = yesterday()
    week = await record_runs(clients, plan.tasks, day)
    for _ in range(2):  # the daily, then the weekly narrative
        llm.reply_json(NARRATIVE)
    daily, weekly = await reflect(clients, USER, day)
    assert isinstance(daily.metrics, DailyMetrics)
    assert daily.metrics.actual_minutes == week.actual_minutes
    assert daily.metrics.tasks_done_unplanned == len(plan.tasks)  # done yesterday, blocks from tomorrow on
    await assert_rows_in_coda(clients, coda, daily, weekly)

    insight = expected_insight(week, weekly, tag="writing")
    assert weekly.insights == [insight]
    hit = await remembered_insight(clients, USER)
    assert f"writing tasks take x{insight.factor:.2f} their estimate" in hit.memory.text

    llm.reply_json(NEXT_REPLY)
    after = await clients.planner.create_plan(PlanCreate(user_id=USER, intent=NEXT_INTENT))
    assert len(llm.chat_requests) == 4  # the two plans and the two narratives, nothing else
    prompt = llm.chat_requests[-1].body["messages"][1]["content"]
    window, factor = f"{insight.window_from}..{insight.window_to}", f"x{insight.factor:.2f}"
    assert f"insight from the observer: writing tasks run {factor} their estimate (5 runs, {window})." in prompt
    assert after.estimate_notes == [
        f"writing {factor} (observer insight, 5 runs {window}): given to the LLM in its prompt;"
        " the estimates are the LLM's"
    ]
