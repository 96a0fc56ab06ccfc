"""The LLM narrative through the fake OpenAI server: the prompt carries the computed figures, the reply
only words them, a failing LLM falls back to the offline narrative and says so; the seeded prompts match."""

from __future__ import annotations

import json
import re

from observer_agent.domain.prompting import DEFAULT_BODIES
from pma_core.migrations import default_migrations_dir
from pma_core.testing.fake_openai import FakeOpenAIServer

from .conftest import ObserverFactory
from .test_service import DAY, _daily, _seed_day

NARRATIVE = {
    "summary": "A steady Monday: the post got written.",
    "wins": ["Write post done"],
    "blockers": ["Review PR carried over"],
    "slipped": "The review slipped behind the post, which overran.",
    "change_for_tomorrow": "Start with the review.",
    "suggestions": [{"text": "Review first thing", "evidence": "Review PR carried over"}],
}


async def test_the_llm_words_the_figures_it_is_given(
    start_observer: ObserverFactory, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_json(NARRATIVE)
    async with start_observer(llm=fake_openai.llm_settings()) as observer:
        _seed_day(observer.records)
        [made] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    assert made["narrative_source"] == "llm"
    assert made["narrative"]["summary"] == NARRATIVE["summary"]
    assert made["prompt_template"] == {"name": "observer.daily", "version": 1}
    assert made["metrics"]["planned_minutes"] == 150  # figures are computed, whatever the LLM says
    [request] = fake_openai.chat_requests
    prompt = request.body["messages"][-1]["content"]
    assert '"planned_minutes":150' in prompt
    assert "Review PR (rolled 1x)" in prompt
    assert "no active observer.daily template" in " ".join(made["warnings"])  # the stand-in's library is empty


async def test_a_failing_llm_falls_back_to_the_offline_narrative(
    start_observer: ObserverFactory, fake_openai: FakeOpenAIServer
) -> None:
    for _ in range(4):
        fake_openai.fail(500)
    async with start_observer(llm=fake_openai.llm_settings(max_retries=0)) as observer:
        _seed_day(observer.records)
        [made] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    assert made["narrative_source"] == "offline"
    assert "1/2 planned tasks done" in made["narrative"]["summary"]
    assert any("the LLM failed" in warning for warning in made["warnings"])


def test_the_migration_seeds_the_prompts_the_code_falls_back_to() -> None:
    sql = (default_migrations_dir() / "009_observer.sql").read_text()
    seeded = dict(re.findall(r"\('(observer\.\w+)', 1, \$body\$(.*?)\$body\$", sql, flags=re.DOTALL))
    assert seeded == DEFAULT_BODIES
    variables = re.findall(r"'(\[.*?\])'::jsonb, true", sql)
    assert [set(json.loads(v)) for v in variables] == [set(re.findall(r"\{\{(\w+)\}\}", b)) for b in seeded.values()]
