"""Langfuse tracing through the fake's ingestion endpoint; a broken Langfuse never hurts a call."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, SecretStr

from pma_core.errors import UpstreamError
from pma_core.llm import ChatMessage, LangfuseTracer, LLMClient, NoopTracer, StructuredResult, make_tracer
from pma_core.settings import LangfuseSettings
from pma_core.testing.fake_openai import FakeOpenAIServer


class Answer(BaseModel):
    text: str


MESSAGES = [ChatMessage.user("Say hi.")]


@pytest.fixture
async def tracer(fake_openai: FakeOpenAIServer) -> AsyncIterator[LangfuseTracer]:
    tracer = LangfuseTracer(fake_openai.langfuse_settings(timeout_seconds=0.3))
    yield tracer
    await tracer.aclose()


async def ask(fake: FakeOpenAIServer, tracer: LangfuseTracer, **metadata: str) -> StructuredResult[Answer]:
    async with LLMClient(fake.llm_settings(), tracer=tracer) as client:
        return await client.structured(
            messages=MESSAGES, output_type=Answer, name="greeter.hi", metadata=metadata or None
        )


async def test_trace_and_generation_are_posted_with_basic_auth_and_usage(
    fake_openai: FakeOpenAIServer, tracer: LangfuseTracer
) -> None:
    fake_openai.reply_json({"text": "hi"}, usage={"prompt_tokens": 12, "completion_tokens": 5, "cost": 0.002})
    result = await ask(fake_openai, tracer, user="u-1")
    await tracer.flush()

    [request] = fake_openai.ingestion_requests
    credentials = base64.b64encode(b"pk-lf-fake:sk-lf-fake").decode()
    assert request.headers["authorization"] == f"Basic {credentials}"
    trace, generation = fake_openai.ingested_events
    assert (trace["type"], generation["type"]) == ("trace-create", "generation-create")
    assert trace["body"]["id"] == result.trace_id is not None
    assert trace["body"]["name"] == "greeter.hi"
    assert trace["body"]["metadata"] == {"user": "u-1"}
    assert trace["body"]["output"] == {"text": "hi"}
    body = generation["body"]
    assert body["traceId"] == result.trace_id
    assert body["model"] == "fake/chat-model"
    assert body["usage"] == {"input": 12, "output": 5, "total": 17, "unit": "TOKENS", "totalCost": 0.002}
    assert body["usageDetails"] == {"input": 12, "output": 5, "total": 17}
    assert body["costDetails"] == {"total": 0.002}
    assert body["input"] == [{"role": "user", "content": "Say hi."}]
    assert body["output"] == '{"text": "hi"}'
    assert body["metadata"] == {"user": "u-1", "attempt": 1}
    assert body["level"] == "DEFAULT"
    assert body["startTime"] <= body["endTime"]
    assert body["endTime"].endswith("Z")


async def test_a_repaired_call_has_one_generation_per_attempt(
    fake_openai: FakeOpenAIServer, tracer: LangfuseTracer
) -> None:
    fake_openai.reply_text("hi!")
    fake_openai.reply_json({"text": "hi"})
    await ask(fake_openai, tracer)
    await tracer.flush()

    names = [event["body"]["name"] for event in fake_openai.ingested_events]
    assert names == ["greeter.hi", "greeter.hi", "greeter.hi (repair)"]


async def test_a_failed_call_is_traced_as_an_error(fake_openai: FakeOpenAIServer, tracer: LangfuseTracer) -> None:
    fake_openai.fail(400, {"error": {"message": "Bad model", "code": 400}})
    with pytest.raises(UpstreamError):
        await ask(fake_openai, tracer)
    await tracer.flush()

    trace, generation = fake_openai.ingested_events
    assert "Bad model" in trace["body"]["output"]["error"]
    assert generation["body"]["level"] == "ERROR"
    assert "HTTP 400" in generation["body"]["statusMessage"]


@pytest.mark.parametrize("status", [500, 503, 401])
async def test_failing_langfuse_does_not_fail_the_call(
    fake_openai: FakeOpenAIServer, tracer: LangfuseTracer, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    fake_openai.fail(status, endpoint="ingestion")
    fake_openai.reply_json({"text": "hi"})
    with caplog.at_level(logging.WARNING, logger="pma_core.llm.tracing"):
        result = await ask(fake_openai, tracer)
        await tracer.flush()

    assert result.value.text == "hi"
    assert fake_openai.ingested_events == []
    assert f"HTTP {status}" in caplog.text


async def test_slow_langfuse_neither_slows_nor_fails_the_call(
    fake_openai: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Order, not wall-clock: Langfuse holds the batch far beyond the 1 s timeout (stopping the fake cuts
    # the hold short, and the next test's reset drops its late answer).
    fake_openai.default_chat_content = '{"text": "hi"}'
    tracer = LangfuseTracer(fake_openai.langfuse_settings(timeout_seconds=1.0))
    fake_openai.delay(20.0, endpoint="ingestion")
    with caplog.at_level(logging.WARNING, logger="pma_core.llm.tracing"):
        result = await ask(fake_openai, tracer)
        # Back before the send timed out: had the call waited for Langfuse, the timeout would be logged by now.
        assert "TimeoutError" not in caplog.text
        await tracer.aclose()

    assert result.value.text == "hi"
    # The flush ended at the timeout: the batch reached Langfuse, which never got to accept it.
    assert "TimeoutError" in caplog.text
    assert len(fake_openai.ingestion_requests) == 1
    assert fake_openai.ingested_events == []


async def test_unreachable_langfuse_is_swallowed(fake_openai: FakeOpenAIServer) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    tracer = LangfuseTracer(fake_openai.langfuse_settings(host="http://127.0.0.1:9"))
    fake_openai.reply_json({"text": "hi"})
    result = await ask(fake_openai, tracer)
    await tracer.aclose()
    assert result.value.text == "hi"


def test_make_tracer_needs_both_keys() -> None:
    assert isinstance(make_tracer(LangfuseSettings(public_key=None, secret_key=None)), NoopTracer)
    assert isinstance(make_tracer(LangfuseSettings(public_key="pk", secret_key=None)), NoopTracer)
    assert isinstance(make_tracer(LangfuseSettings(public_key="pk", secret_key=SecretStr("sk"))), LangfuseTracer)


async def test_without_a_tracer_there_is_no_trace_id(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_json({"text": "hi"})
    async with LLMClient(fake_openai.llm_settings(), tracer=NoopTracer()) as client:
        result = await client.structured(messages=MESSAGES, output_type=Answer, name="t")
    assert result.trace_id is None
    assert fake_openai.ingestion_requests == []
