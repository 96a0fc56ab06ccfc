"""LLMClient against the loopback fake, through the real `openai` SDK."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import BaseModel, Field, SecretStr

from pma_core.errors import UpstreamError
from pma_core.llm import ChatMessage, LLMClient, LLMOutputInvalidError, LLMUsage, StructuredResult
from pma_core.settings import LLMSettings
from pma_core.testing.fake_openai import FakeOpenAIServer


class Task(BaseModel):
    title: str
    minutes: int = Field(ge=1)


class Plan(BaseModel):
    summary: str = Field(description="one sentence")
    tasks: list[Task]
    focus: Task | None = Field(default=None, description="the task to start with")


MESSAGES = [ChatMessage.system("You plan days."), ChatMessage.user("Plan my morning.")]
PLAN = {"summary": "A calm morning.", "tasks": [{"title": "Write report", "minutes": 45}], "focus": None}


async def structured(client: LLMClient) -> StructuredResult[Plan]:
    return await client.structured(messages=MESSAGES, output_type=Plan, name="planner.plan")


async def test_valid_structured_output(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_json(PLAN, usage={"prompt_tokens": 20, "completion_tokens": 7})
    async with LLMClient(fake_openai.llm_settings()) as client:
        result = await client.structured(messages=MESSAGES, output_type=Plan, name="planner.plan", temperature=0.0)

    assert result.value == Plan.model_validate(PLAN)
    assert (result.attempts, result.repaired, result.trace_id) == (1, False, None)
    assert result.model == "fake/chat-model"
    assert result.usage.cost_usd == pytest.approx(27e-6)
    assert result.usage == LLMUsage(20, 7, 27, cost_usd=result.usage.cost_usd)
    [request] = fake_openai.chat_requests
    assert request.headers["authorization"] == f"Bearer {fake_openai.api_key}"
    assert request.headers["http-referer"] == "https://github.com/pma"
    assert request.headers["x-title"] == "Planner & Memory"
    assert request.body["usage"] == {"include": True}
    assert request.body["temperature"] == 0.0
    assert request.body["messages"] == [
        {"role": "system", "content": "You plan days."},
        {"role": "user", "content": "Plan my morning."},
    ]
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "planner_plan"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["required"] == ["summary", "tasks", "focus"]


async def test_invalid_json_is_repaired_once(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_text('{"summary": "cut off', usage={"prompt_tokens": 10, "completion_tokens": 3, "cost": 0.5})
    # The provider reports the dated model it routed to; the repair still asks for the configured one.
    usage = {"prompt_tokens": 30, "completion_tokens": 9, "cost": 0.25}
    fake_openai.reply_json(PLAN, usage=usage, model="fake/chat-model-2026-01-01")
    async with LLMClient(fake_openai.llm_settings()) as client:
        result = await structured(client)

    assert (result.attempts, result.repaired) == (2, True)
    assert result.usage == LLMUsage(40, 12, 52, cost_usd=0.75)
    assert result.model == "fake/chat-model-2026-01-01"
    assert [r.body["model"] for r in fake_openai.chat_requests] == ["fake/chat-model"] * 2
    repair = fake_openai.chat_requests[1].body["messages"]
    assert repair[:2] == fake_openai.chat_requests[0].body["messages"]
    assert repair[2] == {"role": "assistant", "content": '{"summary": "cut off'}
    assert repair[3]["role"] == "user"
    assert "Invalid JSON" in repair[3]["content"]


async def test_code_fenced_json_is_accepted(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_text(f"```json\n{json.dumps(PLAN)}\n```")
    async with LLMClient(fake_openai.llm_settings()) as client:
        result = await structured(client)
    assert result.attempts == 1


async def test_schema_violation_twice_raises_502(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_json({"summary": "no tasks"})
    fake_openai.reply_json({"summary": "still", "tasks": [{"title": "x", "minutes": 0}]})
    async with LLMClient(fake_openai.llm_settings()) as client:
        with pytest.raises(LLMOutputInvalidError) as caught:
            await structured(client)

    error = caught.value
    assert error.status_code == 502
    assert error.code == "llm_output_invalid"
    assert "tasks.0.minutes" in error.message
    assert "greater than or equal to 1" in error.message
    assert "tasks: Field required" in fake_openai.chat_requests[1].body["messages"][-1]["content"]
    assert len(fake_openai.chat_requests) == 2


async def test_rate_limit_is_retried_by_the_sdk_honouring_retry_after(fake_openai: FakeOpenAIServer) -> None:
    # Longer than the SDK's own first backoff (0.5 s at most): a retry this late honoured the header.
    fake_openai.fail(429, retry_after=1.0)
    fake_openai.reply_json(PLAN)
    async with LLMClient(fake_openai.llm_settings(max_retries=2)) as client:
        result = await structured(client)

    assert result.attempts == 1
    first, second = fake_openai.chat_requests
    # A lower bound holds on any machine: a loaded one only makes the gap longer.
    assert second.received_at - first.received_at >= 1.0
    assert (first.headers["x-stainless-retry-count"], second.headers["x-stainless-retry-count"]) == ("0", "1")


async def test_server_error_is_retried_with_backoff(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail(503)
    fake_openai.reply_json(PLAN)
    async with LLMClient(fake_openai.llm_settings(max_retries=1)) as client:
        result = await structured(client)
    assert result.value.tasks[0].title == "Write report"
    first, second = fake_openai.chat_requests
    # No Retry-After: the SDK's exponential backoff, 0.5 s minus up to 25 % jitter, so never under 0.375 s
    # (only a lower bound: a loaded machine makes the gap longer, never shorter).
    assert second.received_at - first.received_at >= 0.375


async def test_persistent_server_errors_become_upstream_error(fake_openai: FakeOpenAIServer) -> None:
    for _ in range(2):
        fake_openai.fail(500, {"error": {"message": "Internal Server Error", "code": 500}}, retry_after=0.01)
    async with LLMClient(fake_openai.llm_settings(max_retries=1)) as client:
        with pytest.raises(UpstreamError) as caught:
            await structured(client)

    assert caught.value.status_code == 502
    assert caught.value.code == "llm_upstream_error"
    assert "127.0.0.1 answered HTTP 500 after 1 retries for model fake/chat-model" in caught.value.message
    assert "Internal Server Error" in caught.value.message
    assert caught.value.details["status"] == 500
    assert len(fake_openai.chat_requests) == 2


async def test_rate_limit_that_persists_is_a_clear_error(fake_openai: FakeOpenAIServer) -> None:
    body = {"error": {"message": "Rate limit exceeded: free-models-per-min", "code": 429}}
    for _ in range(2):
        fake_openai.fail(429, body, retry_after=0.01)
    async with LLMClient(fake_openai.llm_settings(max_retries=1)) as client:
        with pytest.raises(UpstreamError) as caught:
            await structured(client)
    assert caught.value.code == "llm_rate_limited"
    assert "Rate limit exceeded: free-models-per-min" in caught.value.message


async def test_unreachable_provider_is_a_clear_error() -> None:
    # Nothing listens on loopback port 9: the connection is refused at once.
    llm = LLMSettings(base_url="http://127.0.0.1:9/v1", api_key=SecretStr("k"), max_retries=0)
    async with LLMClient(llm) as client:
        with pytest.raises(UpstreamError) as caught:
            await structured(client)
    assert caught.value.code == "llm_unreachable"
    assert "could not reach LLM provider 127.0.0.1" in caught.value.message


async def test_timeout_becomes_llm_timeout(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.delay(2.0)
    async with LLMClient(fake_openai.llm_settings(timeout_seconds=0.2, max_retries=0)) as client:
        with pytest.raises(UpstreamError) as caught:
            await structured(client)

    assert caught.value.code == "llm_timeout"
    assert caught.value.status_code == 502
    assert "timed out" in caught.value.message


async def test_bad_key_gives_clear_401_error_without_retrying(fake_openai: FakeOpenAIServer) -> None:
    settings = fake_openai.llm_settings(api_key=SecretStr("sk-or-v1-wrong"), max_retries=3)
    async with LLMClient(settings) as client:
        with pytest.raises(UpstreamError) as caught:
            await structured(client)

    assert caught.value.code == "llm_auth_failed"
    assert "HTTP 401" in caught.value.message
    assert "User not found." in caught.value.message
    assert "sk-or-v1-wrong" not in caught.value.message
    assert len(fake_openai.chat_requests) == 1


async def test_complete_returns_free_text(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_text("Start with the report.", usage={"prompt_tokens": 5, "completion_tokens": 4})
    async with LLMClient(fake_openai.llm_settings()) as client:
        result = await client.complete(messages=MESSAGES, name="planner.advice", model="fake/other-model")

    assert result.text == "Start with the report."
    assert result.model == "fake/other-model"
    assert result.usage.total_tokens == 9
    [request] = fake_openai.chat_requests
    assert "response_format" not in request.body


async def test_a_caller_supplied_httpx_client_is_used_and_left_open(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_json(PLAN)
    async with httpx.AsyncClient(headers={"X-Probe": "caller-client"}) as http_client:
        async with LLMClient(fake_openai.llm_settings(), http_client=http_client) as client:
            await structured(client)
        assert not http_client.is_closed
    assert fake_openai.chat_requests[0].headers["x-probe"] == "caller-client"
