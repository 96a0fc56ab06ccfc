"""Prompt templates over HTTP: a new version is what the next LLM plan uses, an old one can be activated
again, and a template the planner could not fill is refused with a 422 naming the field."""

from __future__ import annotations

import pytest

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.library import PromptTemplateCreate
from pma_core.contracts.plans import PlanCreate, PlanRead
from pma_core.testing.fake_openai import FakeOpenAIServer

from .replies import CHAIN, USER, error, get, post, prompt

INTENT = "Write the quarterly report"
V2_BODY = "Version two of the planning prompt. Plan exactly this, nothing more: {{intent}}"
V1_OPENING = "Turn the user's intent into a standard operating procedure (SOP)"


async def plan_and_prompt(client: PlannerEngineClient, fake: FakeOpenAIServer) -> tuple[PlanRead, str]:
    fake.reply_json(CHAIN)
    plan = await client.create_plan(PlanCreate(user_id=USER, intent=INTENT))
    return plan, prompt(fake.chat_requests[-1])


async def versions(client: PlannerEngineClient, name: str) -> list[tuple[int, bool]]:
    response = await get(client, f"/v1/prompt-templates/{name}/versions")
    assert response.status_code == 200
    return [(t["version"], t["active"]) for t in response.json()["templates"]]


async def test_the_seeded_templates_are_active(llm_planner: PlannerEngineClient) -> None:
    active = {t.name: (t.version, t.variables) for t in (await llm_planner.prompt_templates()).templates}
    assert active["planner.plan"] == (
        1, ["intent", "context", "due_at", "now", "constraints", "recalled", "estimate_accuracy"],
    )  # fmt: skip
    assert active["planner.adapt"][0] == active["planner.replan"][0] == 1


async def test_a_new_version_is_used_by_the_next_plan_and_activating_v1_rolls_back(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    before, text = await plan_and_prompt(llm_planner, fake_openai)
    assert text.startswith(V1_OPENING)

    created = await llm_planner.add_prompt_template_version(
        "planner.plan", PromptTemplateCreate(body=V2_BODY, variables=["intent"], description="shorter")
    )
    assert (created.name, created.version, created.active) == ("planner.plan", 2, True)

    after, text = await plan_and_prompt(llm_planner, fake_openai)
    assert text == f"Version two of the planning prompt. Plan exactly this, nothing more: {INTENT}"
    assert after.prompt_template is not None
    assert (after.prompt_template.name, after.prompt_template.version) == ("planner.plan", 2)
    # A plan keeps naming the version that produced it.
    earlier = await llm_planner.get_plan(USER, before.id)
    assert earlier.prompt_template is not None
    assert earlier.prompt_template.version == 1

    response = await post(llm_planner, "/v1/prompt-templates/planner.plan/versions/1/activate", {})
    assert response.status_code == 200
    assert (response.json()["version"], response.json()["active"]) == (1, True)

    rolled_back, text = await plan_and_prompt(llm_planner, fake_openai)
    assert text.startswith(V1_OPENING)
    assert rolled_back.prompt_template is not None
    assert rolled_back.prompt_template.version == 1


async def test_a_version_may_name_its_own_model(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    await llm_planner.add_prompt_template_version(
        "planner.plan", PromptTemplateCreate(body=V2_BODY, variables=["intent"], model="fake/bigger-model")
    )
    plan, _ = await plan_and_prompt(llm_planner, fake_openai)
    assert fake_openai.chat_requests[-1].body["model"] == "fake/bigger-model"
    assert plan.model == "fake/bigger-model"


async def test_an_inactive_version_is_stored_but_not_used(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    await llm_planner.add_prompt_template_version(
        "planner.plan", PromptTemplateCreate(body=V2_BODY, variables=["intent"], activate=False)
    )
    plan, text = await plan_and_prompt(llm_planner, fake_openai)
    assert text.startswith(V1_OPENING)
    assert plan.prompt_template is not None
    assert plan.prompt_template.version == 1


@pytest.mark.parametrize(
    ("name", "body", "variables", "field", "message"),
    [
        ("planner.plan", "Plan {{intent}} in a {{mood}} mood", ["intent"], "body",
         "the body uses undeclared variables: mood"),
        ("planner.plan", "Plan {{intent}}", ["intent", "context"], "body",
         "declared variables the body never uses: context"),
        ("planner.plan", "Plan something sensible given {{context}}", ["context"], "body.variables",
         "template planner.plan must use: intent"),
        ("planner.plan", "Plan {{intent}} whatever the {{weather}}", ["intent", "weather"], "body.variables",
         "template planner.plan cannot use weather: the planner supplies only constraints, context"),
        ("planner.adapt", "Adapt to {{intent}}", ["intent"], "body.variables", "template planner.adapt must use: sop"),
        ("planner.replan", "Revise {{plan}} per {{feedback}} for {{user_id}}", ["plan", "feedback", "user_id"],
         "body.variables", "template planner.replan cannot use user_id"),
    ],
    ids=["undeclared-placeholder", "unused-variable", "missing-intent", "unknown-variable", "adapt-without-sop",
         "replan-unknown"],
)  # fmt: skip
async def test_a_template_the_planner_cannot_fill_is_a_422_naming_the_field(
    llm_planner: PlannerEngineClient, name: str, body: str, variables: list[str], field: str, message: str
) -> None:
    response = await post(llm_planner, f"/v1/prompt-templates/{name}/versions", {"body": body, "variables": variables})

    assert response.status_code == 422
    problem = error(response)
    assert problem["code"] == "validation_error"
    [detail] = problem["details"]
    assert detail["field"] == field
    assert message in detail["message"]
    assert message in problem["message"]
    assert await versions(llm_planner, name) == [(1, True)]


async def test_activating_a_version_that_does_not_exist_is_a_404(llm_planner: PlannerEngineClient) -> None:
    response = await post(llm_planner, "/v1/prompt-templates/planner.plan/versions/7/activate", {})
    assert response.status_code == 404
    assert error(response)["message"] == "no version 7 of prompt template planner.plan"


async def test_a_prompt_no_migration_seeded_is_refused(llm_planner: PlannerEngineClient) -> None:
    response = await post(llm_planner, "/v1/prompt-templates/junk.name/versions", {"body": "x", "variables": []})
    assert response.status_code == 404
    problem = error(response)
    assert problem["message"].startswith("no prompt template named junk.name; the prompts are: ")
    assert {"planner.plan", "observer.daily"} <= set(problem["details"]["known"])
    assert "junk.name" not in {t.name for t in (await llm_planner.prompt_templates()).templates}
