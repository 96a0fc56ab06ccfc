"""A service killed mid-request (SIGKILL, as the OOM killer or a crashed host does it) and started again: the
typed client retries the idempotent call into the new process, and nothing is made twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanCreate
from pma_core.embedded.process import free_port
from pma_core.settings import PostgresSettings, ValkeySettings
from pma_core.testing.fake_openai import FakeOpenAIServer

USER = "restarted"


def _task(key: str, title: str) -> dict[str, object]:
    """One task as the model writes it: every field present, as strict structured output demands."""
    return {
        "key": key, "title": title, "description": f"{title}.", "estimate_minutes": 30, "priority": "normal",
        "earliest_start": None, "deadline": None, "depends_on": [], "splittable": False, "min_chunk_minutes": None,
        "tags": [], "step": 1,
    }  # fmt: skip


TASKS = [_task("t1", "Draft the copy"), _task("t2", "Send to the list")]
DRAFT = {
    "sop": {
        "title": "Newsletter",
        "summary": "How to send the newsletter.",
        "steps": [{"title": "Write", "purpose": "Why: write.", "inputs": [], "done_criteria": ["written"]}],
    },
    "tasks": TASKS,
}


def _planner_env(postgres: PostgresSettings, valkey: ValkeySettings, fake: FakeOpenAIServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "VALKEY_", "LLM_", "OPENROUTER_"))}
    down = f"http://127.0.0.1:{free_port()}"  # memory and scheduler are not part of this story
    return env | {
        "POSTGRES_URL": postgres.url.get_secret_value(), "VALKEY_URL": valkey.url.get_secret_value(),
        "VALKEY_KEY_PREFIX": valkey.key_prefix or "restart:", "LLM_BASE_URL": fake.base_url,
        "LLM_API_KEY": fake.api_key, "LLM_MODEL": "fake/chat-model", "LLM_TIMEOUT_SECONDS": "60",
        "LLM_MAX_RETRIES": "0", "LLM_ALLOW_MODEL_REQUESTS": "false", "MEMORY_GATEWAY_URL": down,
        "SCHEDULER_ENGINE_URL": down, "LOG_LEVEL": "WARNING",
    }  # fmt: skip


@contextmanager
def _process(port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "uvicorn", "planner_engine.main:app_from_env", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


async def _until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2.0) as http, asyncio.timeout(60):
        while True:
            assert process.poll() is None, "the planner process exited"
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def _until_the_model_is_asked(fake: FakeOpenAIServer, times: int) -> None:
    async with asyncio.timeout(30):
        while True:
            if len(fake.chat_requests) >= times:
                return
            await asyncio.sleep(0.05)


@pytest.fixture
async def planner_client() -> AsyncIterator[PlannerEngineClient]:
    port = free_port()
    # Retries spread over ~36 s (0.1 s doubling, capped at 5 s): time for a new process to start on a busy machine.
    client = PlannerEngineClient(f"http://127.0.0.1:{port}", timeout=90.0, retries=12)
    yield client
    await client.aclose()


async def test_a_planner_killed_while_planning_is_retried_into_its_successor_and_plans_once(
    postgres_settings: PostgresSettings,
    valkey_settings: ValkeySettings,
    fake_openai: FakeOpenAIServer,
    planner_client: PlannerEngineClient,
) -> None:
    env = _planner_env(postgres_settings, valkey_settings, fake_openai)
    port = int(planner_client.base_url.rsplit(":", 1)[1])
    fake_openai.reply_json(DRAFT, delay=60)  # the first process is killed while the model "thinks"
    fake_openai.reply_json(DRAFT)
    request = PlanCreate(user_id=USER, intent="Send the newsletter", idempotency_key="newsletter-1")

    with _process(port, env) as first:
        await _until_ready(planner_client.base_url, first)
        creating = asyncio.create_task(planner_client.create_plan(request))
        await _until_the_model_is_asked(fake_openai, 1)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert not creating.done()  # the client is retrying: the call has not failed
    with _process(port, env) as second:
        plan = await asyncio.wait_for(creating, timeout=60)
        again = await planner_client.create_plan(request)  # the caller's own retry, later
        listed = await planner_client.list_plans(USER)
        assert second.poll() is None

    assert [task.title for task in plan.tasks] == ["Draft the copy", "Send to the list"]
    assert again.id == plan.id
    assert [p.id for p in listed.plans] == [plan.id]
    assert len(fake_openai.chat_requests) == 2  # once by the killed process, once by its successor
