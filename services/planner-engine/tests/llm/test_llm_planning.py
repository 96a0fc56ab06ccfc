"""Planning with the LLM, over HTTP: the planner-engine drives the real `openai` SDK against the loopback
fake, which answers valid, invalid, slow or rate-limited replies as scripted."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.executions import ExecutionCreate
from pma_core.contracts.plans import PlanCreate
from pma_core.testing.fake_openai import FakeOpenAIServer

from .replies import CHAIN, USER, PlannerFactory, draft, error, last_turn, post, prompt, task

INTENT = "Launch the spring newsletter for the bakery"


def create(intent: str = INTENT, **fields: Any) -> PlanCreate:
    return PlanCreate(user_id=USER, intent=intent, **fields)


async def no_plans(client: PlannerEngineClient) -> bool:
    return (await client.list_plans(USER)).plans == []


async def test_a_valid_reply_becomes_the_stored_plan(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_json(CHAIN, usage={"prompt_tokens": 800, "completion_tokens": 200, "cost": 0.0042})

    plan = await llm_planner.create_plan(create(context="Readers are local families."))

    assert (plan.planner, plan.planned_offline, plan.status, plan.revision) == ("llm", False, "draft", 1)
    assert plan.model == "fake/chat-model"
    assert plan.sop.title == "Newsletter launch"
    assert [s.title for s in plan.sop.steps] == ["Step 1", "Step 2"]
    assert [(t.key, t.title, t.estimate_minutes, t.step) for t in plan.tasks] == [
        ("t1", "Draft the copy", 45, 1),
        ("t2", "Design the template", 60, 1),
        ("t3", "Send to the list", 15, 2),
    ]
    ids = {t.key: t.id for t in plan.tasks}
    assert [t.depends_on for t in plan.tasks] == [[], [ids["t1"]], [ids["t2"]]]
    assert plan.tasks[2].priority == "high"
    assert {t.status for t in plan.tasks} == {"todo"}
    assert plan.usage.model_dump() == {
        "prompt_tokens": 800, "completion_tokens": 200, "total_tokens": 1000, "cost_usd": pytest.approx(0.0042),
    }  # fmt: skip
    assert (plan.prompt_template and plan.prompt_template.model_dump()) == {"name": "planner.plan", "version": 1}
    assert plan.trace_id is None  # Langfuse is not configured here
    assert await llm_planner.get_plan(USER, plan.id) == plan

    [request] = fake_openai.chat_requests
    assert request.body["model"] == "fake/chat-model"
    schema = request.body["response_format"]["json_schema"]
    assert (schema["name"], schema["strict"]) == ("planner_plan", True)
    assert set(schema["schema"]["properties"]) == {"sop", "tasks"}
    assert "Readers are local families." in prompt(request)


async def test_the_prompt_carries_the_intent_and_the_users_estimate_accuracy(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    # Three finished runs that each took 1.5 times their estimate.
    started = datetime.now(UTC) - timedelta(hours=3)
    for number in range(3):
        await llm_planner.record_execution(
            ExecutionCreate(
                user_id=USER,
                subject=f"Write post {number}",
                status="succeeded",
                started_at=started,
                finished_at=started + timedelta(minutes=90),
                estimated_minutes=60,
                actual_minutes=90,
            )
        )
    fake_openai.reply_json(CHAIN)

    await llm_planner.create_plan(create())

    text = prompt(fake_openai.chat_requests[0])
    assert f"Intent: {INTENT}" in text
    assert "How long this user's work really takes: over 3 finished runs, work took x1.50 the estimate" in text
    assert "{{" not in text


async def test_without_history_the_prompt_says_so(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_json(CHAIN)
    await llm_planner.create_plan(create())
    text = prompt(fake_openai.chat_requests[0])
    assert "How long this user's work really takes: no execution history yet: use typical estimates." in text
    # Memory is down in these tests: the prompt says nothing was recalled.
    assert "(nothing yet)" in text


async def test_invalid_json_is_repaired_once_and_usage_is_summed(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_text(
        '{"sop": {"title": "cut o', usage={"prompt_tokens": 500, "completion_tokens": 10, "cost": 0.001}
    )
    fake_openai.reply_json(CHAIN, usage={"prompt_tokens": 600, "completion_tokens": 200, "cost": 0.002})

    plan = await llm_planner.create_plan(create())

    first, second = fake_openai.chat_requests
    assert second.body["messages"][:2] == first.body["messages"]
    assert second.body["messages"][2] == {"role": "assistant", "content": '{"sop": {"title": "cut o'}
    assert "Invalid JSON" in last_turn(second)
    assert [t.key for t in plan.tasks] == ["t1", "t2", "t3"]
    assert (plan.usage.prompt_tokens, plan.usage.completion_tokens, plan.usage.total_tokens) == (1100, 210, 1310)
    assert plan.usage.cost_usd == pytest.approx(0.003)
    assert [p.id for p in (await llm_planner.list_plans(USER)).plans] == [plan.id]


async def test_schema_violations_twice_are_a_clear_502_and_nothing_is_stored(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_json({"sop": CHAIN["sop"], "tasks": []})
    fake_openai.reply_json({"tasks": CHAIN["tasks"]})

    response = await post(llm_planner, "/v1/plans", {"user_id": USER, "intent": INTENT})

    assert response.status_code == 502
    body = error(response)
    assert body["code"] == "llm_output_invalid"
    assert "returned invalid output for 'planner.plan' twice" in body["message"]
    assert "sop: Field required" in body["message"]
    assert "tasks: List should have at least 1 item" in last_turn(fake_openai.chat_requests[1])
    assert len(fake_openai.chat_requests) == 2
    assert await no_plans(llm_planner)


async def test_a_dependency_cycle_is_sent_back_and_the_repaired_plan_is_used(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    cyclic = draft([task("t1", "Write", depends_on=["t2"]), task("t2", "Review", depends_on=["t1"])])
    fixed = draft([task("t1", "Write"), task("t2", "Review", depends_on=["t1"])])
    fake_openai.reply_json(cyclic)
    fake_openai.reply_json(fixed)

    plan = await llm_planner.create_plan(create())

    assert "dependencies form a cycle: t1 -> t2 -> t1" in last_turn(fake_openai.chat_requests[1])
    assert [(t.key, t.title) for t in plan.tasks] == [("t1", "Write"), ("t2", "Review")]
    assert plan.tasks[0].depends_on == []
    assert plan.tasks[1].depends_on == [plan.tasks[0].id]


async def test_a_non_positive_estimate_is_sent_back_and_the_repaired_plan_is_used(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_json(draft([task("t1", "Write", minutes=0), task("t2", "Review", minutes=-5)]))
    fake_openai.reply_json(draft([task("t1", "Write", minutes=40), task("t2", "Review", minutes=20)]))

    plan = await llm_planner.create_plan(create())

    repair = last_turn(fake_openai.chat_requests[1])
    assert "tasks.0.estimate_minutes: Input should be greater than 0" in repair
    assert "tasks.1.estimate_minutes" in repair
    assert [t.estimate_minutes for t in plan.tasks] == [40, 20]


async def test_a_cycle_that_stays_after_the_repair_is_a_502(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    for _ in range(2):
        fake_openai.reply_json(draft([task("a", "A", depends_on=["b"]), task("b", "B", depends_on=["a"])]))

    response = await post(llm_planner, "/v1/plans", {"user_id": USER, "intent": INTENT})

    assert response.status_code == 502
    assert error(response)["code"] == "llm_output_invalid"
    assert "dependencies form a cycle" in error(response)["message"]
    assert await no_plans(llm_planner)


async def test_a_rate_limit_is_retried_and_the_plan_made(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.fail(429, retry_after=0.01)
    fake_openai.reply_json(CHAIN)

    plan = await llm_planner.create_plan(create())

    assert [t.key for t in plan.tasks] == ["t1", "t2", "t3"]
    first, second = fake_openai.chat_requests
    assert (first.headers["x-stainless-retry-count"], second.headers["x-stainless-retry-count"]) == ("0", "1")


async def test_a_rate_limit_that_persists_is_a_clear_error_and_nothing_is_stored(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    for _ in range(2):
        fake_openai.fail(429, {"error": {"message": "Rate limit exceeded: per-minute", "code": 429}}, retry_after=0.01)

    response = await post(llm_planner, "/v1/plans", {"user_id": USER, "intent": INTENT})

    assert response.status_code == 502
    assert error(response)["code"] == "llm_rate_limited"
    assert "Rate limit exceeded: per-minute" in error(response)["message"]
    assert await no_plans(llm_planner)


async def test_a_timeout_is_a_clear_error_and_nothing_is_stored(
    start_planner: PlannerFactory, fake_openai: FakeOpenAIServer
) -> None:
    # A shorter timeout than the fixture's 2 s keeps the test quick; the path is the same. The SDK
    # retries a timeout once, so both attempts are slow.
    fake_openai.delay(1.5)
    fake_openai.delay(1.5)
    async with start_planner(llm=fake_openai.llm_settings(timeout_seconds=0.4)) as client:
        response = await post(client, "/v1/plans", {"user_id": USER, "intent": INTENT})

        assert response.status_code == 502
        body = error(response)
        assert body["code"] == "llm_timeout"
        assert "timed out (timeout 0.4s, 1 retries" in body["message"]
        assert len(fake_openai.chat_requests) == 2
        assert await no_plans(client)


async def test_planner_llm_without_a_key_is_a_503(planner: PlannerEngineClient) -> None:
    response = await post(planner, "/v1/plans", {"user_id": USER, "intent": INTENT, "planner": "llm"})

    assert response.status_code == 503
    body = error(response)
    assert body["code"] == "llm_not_configured"
    assert "no LLM key is set" in body["message"]
    assert body["details"] == {"planner": "llm"}
    assert await no_plans(planner)
    # auto still plans, offline.
    plan = await planner.create_plan(create())
    assert (plan.planner, plan.planned_offline, plan.prompt_template) == ("offline", True, None)


async def test_planner_offline_skips_the_llm_even_with_a_key(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    plan = await llm_planner.create_plan(create(planner="offline"))
    assert (plan.planner, plan.model, plan.usage.total_tokens) == ("offline", None, 0)
    assert fake_openai.chat_requests == []


async def test_a_repeated_idempotency_key_returns_the_first_plan_without_asking_again(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_json(CHAIN)
    first = await llm_planner.create_plan(create(idempotency_key="plan-once"))
    again = await llm_planner.create_plan(create(idempotency_key="plan-once"))
    assert again.id == first.id
    assert len(fake_openai.chat_requests) == 1


async def test_deadlines_the_model_puts_after_the_due_date_are_moved_to_it(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    due = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    late = (due + timedelta(days=7)).isoformat()
    fake_openai.reply_json(draft([task("t1", "Write"), task("t2", "Send", depends_on=["t1"], deadline=late)]))

    plan = await llm_planner.create_plan(create(due_at=due))

    assert plan.tasks[1].deadline == due
    assert "deadlines after the due date were moved to it: tasks t2" in plan.warnings
    assert f"Due: {due.isoformat()}" in prompt(fake_openai.chat_requests[0])


async def test_a_trace_per_plan_reaches_langfuse(start_planner: PlannerFactory, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_text("not json")
    fake_openai.reply_json(CHAIN)
    async with start_planner(llm=fake_openai.llm_settings(), langfuse=fake_openai.langfuse_settings()) as client:
        plan = await client.create_plan(create())
        assert plan.trace_id is not None
        assert await client.get_plan(USER, plan.id) == plan

        # The tracer posts in the background: wait for the batch.
        deadline = time.monotonic() + 5
        while not [e for e in fake_openai.ingested_events if e["type"] == "trace-create"]:
            assert time.monotonic() < deadline, "no trace reached the fake Langfuse"
            await asyncio.sleep(0.02)

    [trace] = [e["body"] for e in fake_openai.ingested_events if e["type"] == "trace-create"]
    assert (trace["id"], trace["name"]) == (plan.trace_id, "planner.plan")
    assert trace["metadata"] == {"user_id": USER, "template": "planner.plan@v1"}
    generations = [e["body"] for e in fake_openai.ingested_events if e["type"] == "generation-create"]
    assert [g["name"] for g in generations] == ["planner.plan", "planner.plan (repair)"]
    assert {g["traceId"] for g in generations} == {plan.trace_id}
    assert {g["model"] for g in generations} == {"fake/chat-model"}
