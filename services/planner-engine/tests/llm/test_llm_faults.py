"""`POST /v1/plans` on the LLM path when the way to the model fails: an HTML page from a CDN, a non-JSON
error, a 200 that is no completion, a dropped connection, an answer cut off at max_tokens. Each is a clear
502 naming what came back, and no plan is stored (counted through the API before and after).

The planner has no offline fallback for a failing model: `planner: auto` takes the LLM whenever a key is
set (only a missing key plans offline), so a failure is the caller's to see, as for a timeout."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanCreate
from pma_core.testing.fake_openai import FakeOpenAIServer

from .replies import CHAIN, USER, error, post

INTENT = "Launch the spring newsletter for the bakery"
Script = Callable[[FakeOpenAIServer], None]


def html_page_twice(fake: FakeOpenAIServer) -> None:
    for _ in range(2):  # the SDK retries a 502 once (`max_retries=1`)
        fake.fail_html(502, retry_after=0.01)


def text_500_twice(fake: FakeOpenAIServer) -> None:
    for _ in range(2):
        fake.fail_text(500, "Internal Server Error", retry_after=0.01)


def dropped_twice(fake: FakeOpenAIServer) -> None:
    for _ in range(2):
        fake.drop_connection()


FAULTS: dict[str, tuple[Script, str, str, int]] = {
    # name: (script, error code, part of the message, chat requests the planner made)
    "html_502": (html_page_twice, "llm_upstream_error", "answered HTTP 502 after 1 retries", 2),
    "non_json_500": (text_500_twice, "llm_upstream_error", "a non-JSON body: 'Internal Server Error'", 2),
    "200_not_json": (
        lambda fake: fake.reply_raw("<html><title>Oops</title></html>", content_type="text/html"),
        "llm_bad_response",
        "answered HTTP 200 for model fake/chat-model with an HTML page ('Oops') instead of a chat completion",
        1,
    ),
    "200_broken_json": (
        lambda fake: fake.reply_raw('{"choices": [{"mess'),
        "llm_bad_response",
        "with a body that is not valid JSON",
        1,
    ),
    "200_without_choices": (
        lambda fake: fake.reply_body({"id": "gen-1", "object": "chat.completion", "model": "fake/chat-model"}),
        "llm_empty_response",
        "returned no choices for model fake/chat-model",
        1,
    ),
    "dropped_connection": (dropped_twice, "llm_unreachable", "Server disconnected without sending a response", 2),
    "cut_off_at_max_tokens": (
        lambda fake: fake.reply_truncated(CHAIN, keep=0.7),
        "llm_truncated",
        "the model's answer was cut off at max_tokens (finish_reason length)",
        1,
    ),
}


async def plan_count(client: PlannerEngineClient) -> int:
    return len((await client.list_plans(USER)).plans)


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_each_fault_is_a_clear_502_and_stores_no_plan(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer, fault: str
) -> None:
    fake_openai.reply_json(CHAIN)
    await llm_planner.create_plan(PlanCreate(user_id=USER, intent="An earlier plan"))
    before = await plan_count(llm_planner)
    assert before == 1
    script, code, message, calls = FAULTS[fault]
    fake_openai.reset()
    script(fake_openai)
    fake_openai.reply_json(CHAIN)  # what a retry or repair the planner must not make would get

    response = await post(llm_planner, "/v1/plans", {"user_id": USER, "intent": INTENT})

    assert response.status_code == 502
    body = error(response)
    assert body["code"] == code
    assert message in body["message"]
    assert len(fake_openai.chat_requests) == calls
    assert fake_openai.pending() == 1
    assert await plan_count(llm_planner) == before
