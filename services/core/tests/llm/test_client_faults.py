"""LLMClient against what the path to a provider really sends when it fails, through the real `openai` SDK:
HTML error pages from a CDN, non-JSON bodies, a 200 that is no completion, a dropped connection, an answer
cut off at max_tokens. Each ends as an `UpstreamError` (502) saying what came back, never as another
exception; what may pass on a second try (5xx, a dropped connection) is retried by the SDK, what would not
(a malformed 200, a cut-off answer) fails at once, and a cut-off answer is never parsed nor repaired."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from pma_core.errors import UpstreamError
from pma_core.llm import ChatMessage, LLMClient, StructuredResult
from pma_core.testing.fake_openai import FakeOpenAIServer


class Task(BaseModel):
    title: str
    minutes: int = Field(ge=1)


class Plan(BaseModel):
    summary: str
    tasks: list[Task]


MESSAGES = [ChatMessage.system("You plan days."), ChatMessage.user("Plan my morning.")]
PLAN = {
    "summary": "A calm morning.",
    "tasks": [{"title": "Write report", "minutes": 45}, {"title": "Gym", "minutes": 60}],
}


async def structured(fake: FakeOpenAIServer) -> StructuredResult[Plan]:
    async with LLMClient(fake.llm_settings(max_retries=1)) as client:
        return await client.structured(messages=MESSAGES, output_type=Plan, name="planner.plan")


async def upstream_error(fake: FakeOpenAIServer) -> UpstreamError:
    """The error `structured` raises: an `UpstreamError` (502) and nothing else."""
    with pytest.raises(UpstreamError) as caught:
        await structured(fake)
    assert caught.value.status_code == 502
    return caught.value


@pytest.mark.parametrize(("status", "title"), [(502, "502 Bad Gateway"), (503, "503 Service Unavailable")])
async def test_an_html_error_page_is_retried_then_named(fake_openai: FakeOpenAIServer, status: int, title: str) -> None:
    for _ in range(2):
        fake_openai.fail_html(status, retry_after=0.01)

    error = await upstream_error(fake_openai)

    assert error.code == "llm_upstream_error"
    assert f"LLM provider 127.0.0.1 answered HTTP {status} after 1 retries for model fake/chat-model" in error.message
    assert f"an HTML page ('{title}') instead of the API's JSON error" in error.message
    assert "<html" not in error.message  # the page is described, not pasted
    assert error.details == {"provider": "127.0.0.1", "model": "fake/chat-model", "status": status}
    assert len(fake_openai.chat_requests) == 2


async def test_an_html_error_page_once_is_outlived_by_the_retry(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_html(502, retry_after=0.01)
    fake_openai.reply_json(PLAN)

    result = await structured(fake_openai)

    assert [t.title for t in result.value.tasks] == ["Write report", "Gym"]
    assert len(fake_openai.chat_requests) == 2


async def test_a_non_json_500_is_retried_then_quoted(fake_openai: FakeOpenAIServer) -> None:
    for _ in range(2):
        fake_openai.fail_text(500, "upstream connect error or disconnect/reset before headers", retry_after=0.01)

    error = await upstream_error(fake_openai)

    assert error.code == "llm_upstream_error"
    assert "answered HTTP 500 after 1 retries" in error.message
    assert "a non-JSON body: 'upstream connect error or disconnect/reset before headers'" in error.message
    assert len(fake_openai.chat_requests) == 2


async def test_a_200_that_is_an_html_page_is_not_taken_for_a_completion(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_raw(
        "<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
        content_type="text/html",
    )

    error = await upstream_error(fake_openai)

    assert error.code == "llm_bad_response"
    assert (
        "answered HTTP 200 for model fake/chat-model with an HTML page ('Just a moment...') "
        "instead of a chat completion"
    ) in error.message
    assert len(fake_openai.chat_requests) == 1  # neither retried nor "repaired"


async def test_a_200_whose_json_body_does_not_parse(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_raw('{"id": "gen-1", "choices": [{"message": ')

    error = await upstream_error(fake_openai)

    assert error.code == "llm_bad_response"
    assert "answered HTTP 200 for model fake/chat-model with a body that is not valid JSON" in error.message
    assert len(fake_openai.chat_requests) == 1


async def test_a_200_without_choices(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_body({"id": "gen-1", "object": "chat.completion", "created": 1, "model": "fake/chat-model"})

    error = await upstream_error(fake_openai)

    assert error.code == "llm_empty_response"
    assert "127.0.0.1 returned no choices for model fake/chat-model" in error.message
    assert len(fake_openai.chat_requests) == 1


async def test_a_200_that_carries_an_error_object(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_body({"error": {"message": "Provider returned error", "code": 502}})

    error = await upstream_error(fake_openai)

    assert error.code == "llm_bad_response"
    assert "answered HTTP 200 with an error instead of a chat completion" in error.message
    assert "Provider returned error" in error.message
    assert len(fake_openai.chat_requests) == 1


async def test_a_dropped_connection_is_retried_then_reported(fake_openai: FakeOpenAIServer) -> None:
    for _ in range(2):
        fake_openai.drop_connection()

    error = await upstream_error(fake_openai)

    assert error.code == "llm_unreachable"
    assert "could not reach LLM provider 127.0.0.1: Server disconnected without sending a response" in error.message
    assert len(fake_openai.chat_requests) == 2


async def test_a_dropped_connection_once_is_outlived_by_the_retry(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.drop_connection()
    fake_openai.reply_json(PLAN)

    result = await structured(fake_openai)

    assert result.value == Plan.model_validate(PLAN)
    assert len(fake_openai.chat_requests) == 2


async def test_an_answer_cut_off_at_max_tokens_is_refused_not_repaired(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_truncated(PLAN, keep=0.6, usage={"prompt_tokens": 40, "completion_tokens": 4096})
    fake_openai.reply_json(PLAN)  # a repair would get this: there must be none

    error = await upstream_error(fake_openai)

    assert error.code == "llm_truncated"
    assert "the model's answer was cut off at max_tokens (finish_reason length)" in error.message
    assert "stopped after 4096 tokens; the incomplete answer was not used" in error.message
    assert error.details == {"provider": "127.0.0.1", "model": "fake/chat-model", "completion_tokens": 4096}
    assert len(fake_openai.chat_requests) == 1
    assert fake_openai.pending() == 1


async def test_a_cut_off_answer_is_refused_even_when_its_text_parses(fake_openai: FakeOpenAIServer) -> None:
    # The model says it did not finish: whatever came is not the whole answer, even if it validates.
    fake_openai.reply_text(json.dumps(PLAN), finish_reason="length")

    error = await upstream_error(fake_openai)

    assert error.code == "llm_truncated"


async def test_a_cut_off_repair_is_refused_too(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_text('{"summary": 1}')
    fake_openai.reply_truncated(PLAN)

    error = await upstream_error(fake_openai)

    assert error.code == "llm_truncated"
    assert len(fake_openai.chat_requests) == 2


async def test_a_cut_off_free_text_answer_is_refused(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_text("Start with the report, then", finish_reason="length")
    async with LLMClient(fake_openai.llm_settings()) as client:
        with pytest.raises(UpstreamError) as caught:
            await client.complete(messages=MESSAGES, name="planner.note")
    assert (caught.value.status_code, caught.value.code) == (502, "llm_truncated")
