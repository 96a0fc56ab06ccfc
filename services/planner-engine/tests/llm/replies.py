"""Model replies for the fake OpenAI server, in the shape the planner asks for (`PlanDraft`), and small
HTTP helpers for the calls whose error bodies the tests read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from pma_core.clients import PlannerEngineClient
from pma_core.testing.fake_openai import RecordedRequest

USER = "llm-user"
# The `start_planner` fixture (conftest.py): serve a planner with some settings changed.
PlannerFactory = Callable[..., AbstractAsyncContextManager[PlannerEngineClient]]


def task(
    key: str,
    title: str,
    *,
    minutes: int = 30,
    depends_on: Sequence[str] = (),
    step: int | None = 1,
    **fields: Any,
) -> dict[str, Any]:
    """One task as the model writes it: every field present, as strict structured output demands."""
    return {
        "key": key, "title": title, "description": f"{title}.", "estimate_minutes": minutes, "priority": "normal",
        "earliest_start": None, "deadline": None, "depends_on": list(depends_on), "splittable": False,
        "min_chunk_minutes": None, "tags": [], "step": step,
    } | fields  # fmt: skip


def step(title: str) -> dict[str, Any]:
    return {"title": title, "purpose": f"Why: {title}.", "inputs": [], "done_criteria": [f"{title} is done"]}


def draft(tasks: Sequence[dict[str, Any]], *, title: str = "Newsletter launch", steps: int = 2) -> dict[str, Any]:
    """A whole reply: an SOP of `steps` steps and the tasks."""
    return {
        "sop": {
            "title": title,
            "summary": f"How to do: {title}.",
            "steps": [step(f"Step {number}") for number in range(1, steps + 1)],
        },
        "tasks": list(tasks),
    }


# Three tasks in a chain: t1 -> t2 -> t3.
CHAIN = draft(
    [
        task("t1", "Draft the copy", minutes=45),
        task("t2", "Design the template", minutes=60, depends_on=["t1"]),
        task("t3", "Send to the list", minutes=15, depends_on=["t2"], step=2, priority="high"),
    ]
)


def prompt(request: RecordedRequest) -> str:
    """The rendered template: the user turn of the first exchange (the system prompt comes before it)."""
    messages = request.body["messages"]
    assert [m["role"] for m in messages[:2]] == ["system", "user"]
    text: str = messages[1]["content"]
    return text


def last_turn(request: RecordedRequest) -> str:
    """The last message sent: on a repair attempt, what the planner said was wrong."""
    text: str = request.body["messages"][-1]["content"]
    return text


async def post(client: PlannerEngineClient, path: str, body: dict[str, Any]) -> httpx.Response:
    """A raw POST, so a test can read the status and error body the client would turn into an exception."""
    async with httpx.AsyncClient(base_url=client.base_url, timeout=15.0) as http:
        return await http.post(path, json=body)


async def get(client: PlannerEngineClient, path: str) -> httpx.Response:
    """A raw GET, for reads the typed client has no call for."""
    async with httpx.AsyncClient(base_url=client.base_url, timeout=15.0) as http:
        return await http.get(path)


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body
