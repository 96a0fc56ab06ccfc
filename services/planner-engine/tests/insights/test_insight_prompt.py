"""On the LLM path the insights reach the model through its prompt (the planner does not rescale the LLM's
estimates), and the plan notes that they did."""

from __future__ import annotations

from datetime import date
from typing import Any

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.insights import EstimateFactorInsight
from pma_core.contracts.plans import PlanCreate
from pma_core.testing.fake_openai import FakeOpenAIServer

from .standin_memory import StandInMemory

USER = "llm-insight-user"
INTENT = "Write the spring newsletter for the bakery"
SENTENCE = "insight from the observer: writing tasks run x1.40 their estimate (5 runs, 2026-11-23..2026-11-29)."


def task(key: str, title: str, minutes: int, tags: list[str]) -> dict[str, Any]:
    return {
        "key": key, "title": title, "description": f"{title}.", "estimate_minutes": minutes, "priority": "normal",
        "earliest_start": None, "deadline": None, "depends_on": [], "splittable": False, "min_chunk_minutes": None,
        "tags": tags, "step": 1,
    }  # fmt: skip


REPLY = {
    "sop": {"title": "Newsletter", "summary": "Write it.", "steps": [{"title": "Write", "purpose": "Words",
            "inputs": [], "done_criteria": ["Written"]}]},
    "tasks": [task("t1", "Draft the copy", 85, ["writing"]), task("t2", "Pick the photos", 20, [])],
}  # fmt: skip


async def test_the_prompt_carries_the_insight_and_the_llm_estimates_stand(
    llm_planner_with_memory: PlannerEngineClient, memory: StandInMemory, fake_openai: FakeOpenAIServer
) -> None:
    found = EstimateFactorInsight(
        tag="writing", factor=1.4, samples=5, actual_minutes=420, estimated_minutes=300,
        window_from=date(2026, 11, 23), window_to=date(2026, 11, 29),
    )  # fmt: skip
    memory.remember_insight(USER, found)
    fake_openai.reply_json(REPLY)

    plan = await llm_planner_with_memory.create_plan(PlanCreate(user_id=USER, intent=INTENT))

    messages = fake_openai.chat_requests[0].body["messages"]
    text = messages[1]["content"]
    assert (
        "How long this user's work really takes: no execution history yet: use typical estimates. " + SENTENCE in text
    )
    # The insight is in the estimate accuracy, not repeated among the recalled memories.
    assert "What memory recalls about this user (preferences, past plans, decisions):\n(nothing yet)" in text
    # No policy rescales the LLM's estimates: they stand as the model wrote them.
    assert [(t.title, t.estimate_minutes) for t in plan.tasks] == [("Draft the copy", 85), ("Pick the photos", 20)]
    assert plan.estimate_notes == [
        "writing x1.40 (observer insight, 5 runs 2026-11-23..2026-11-29): given to the LLM in its prompt;"
        " the estimates are the LLM's"
    ]
    assert (await llm_planner_with_memory.get_plan(USER, plan.id)).estimate_notes == plan.estimate_notes
