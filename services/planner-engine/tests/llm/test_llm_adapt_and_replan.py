"""The LLM path with a library and with feedback: a close saved SOP is adapted (planner.adapt), and a
replan keeps the ids of the tasks whose keys survive."""

from __future__ import annotations

import json

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.library import SopCreate, SopRead, SopStep
from pma_core.contracts.plans import PlanCreate, PlanReplan
from pma_core.contracts.tasks import TaskSpec
from pma_core.testing.fake_openai import FakeOpenAIServer

from .replies import CHAIN, USER, draft, error, post, prompt, task


async def save_sop(client: PlannerEngineClient, *, name: str, title: str, steps: list[str]) -> SopRead:
    return await client.create_sop(
        SopCreate(
            user_id=USER,
            name=name,
            title=title,
            intent=title,
            summary=f"How we {title.lower()}.",
            steps=[SopStep(title=s) for s in steps],
            tasks=[TaskSpec(key=f"t{n}", title=s, estimate_minutes=30, step=n) for n, s in enumerate(steps, 1)],
        )
    )


async def test_a_close_saved_sop_is_adapted_with_the_adapt_template(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    sop = await save_sop(
        llm_planner,
        name="newsletter-launch",
        title="Launch the newsletter",
        steps=["Write the issue", "Check the mailing list", "Send the newsletter"],
    )
    fake_openai.reply_json(CHAIN)

    plan = await llm_planner.create_plan(PlanCreate(user_id=USER, intent="Launch the newsletter"))

    assert plan.based_on is not None
    assert plan.based_on.model_dump() == {
        "id": sop.id, "name": "newsletter-launch", "version": 1, "title": "Launch the newsletter",
    }  # fmt: skip
    assert plan.prompt_template is not None
    assert (plan.prompt_template.name, plan.prompt_template.version) == ("planner.adapt", 1)
    [request] = fake_openai.chat_requests
    assert request.body["response_format"]["json_schema"]["name"] == "planner_adapt"
    text = prompt(request)
    assert text.startswith("Adapt a saved SOP of this user to a new intent")
    assert "Saved SOP (newsletter-launch v1):" in text
    assert "New intent: Launch the newsletter" in text
    saved = json.loads(text.split("Saved SOP (newsletter-launch v1):\n", 1)[1].split("\n\nNew intent:", 1)[0])
    assert [s["title"] for s in saved["steps"]] == ["Write the issue", "Check the mailing list", "Send the newsletter"]
    assert [t["key"] for t in saved["tasks"]] == ["t1", "t2", "t3"]
    # The model's adaptation is the plan; the base SOP is referenced, not copied.
    assert [t.title for t in plan.tasks] == ["Draft the copy", "Design the template", "Send to the list"]
    assert (await llm_planner.get_plan(USER, plan.id)).based_on == plan.based_on


async def test_an_unrelated_saved_sop_is_not_adapted(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    await save_sop(llm_planner, name="sink-repair", title="Fix the kitchen sink", steps=["Buy a washer", "Fit it"])
    fake_openai.reply_json(CHAIN)

    plan = await llm_planner.create_plan(PlanCreate(user_id=USER, intent="Launch the newsletter"))

    assert plan.based_on is None
    assert plan.prompt_template is not None
    assert plan.prompt_template.name == "planner.plan"
    assert "Adapt a saved SOP" not in prompt(fake_openai.chat_requests[0])


async def test_an_llm_replan_keeps_the_ids_of_surviving_keys(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_json(CHAIN)
    plan = await llm_planner.create_plan(PlanCreate(user_id=USER, intent="Launch the spring newsletter"))
    before = {t.key: t.id for t in plan.tasks}
    revised = draft(
        [
            task("t1", "Draft the copy, shorter", minutes=30),
            task("t2", "Design the template", minutes=60, depends_on=["t1"]),
            task("t9", "Schedule the send in the mail tool", minutes=10, depends_on=["t2"], step=2),
        ]
    )
    fake_openai.reply_json(revised, usage={"prompt_tokens": 900, "completion_tokens": 150, "cost": 0.001})

    feedback = "Skip sending by hand; schedule it in the mail tool instead, and keep the copy short."
    replanned = await llm_planner.replan(plan.id, PlanReplan(user_id=USER, feedback=feedback))

    assert (replanned.id, replanned.revision, replanned.status) == (plan.id, 2, "draft")
    after = {t.key: t.id for t in replanned.tasks}
    assert list(after) == ["t1", "t2", "t9"]
    assert (after["t1"], after["t2"]) == (before["t1"], before["t2"])
    assert after["t9"] not in before.values()
    assert [t.depends_on for t in replanned.tasks] == [[], [after["t1"]], [after["t2"]]]
    assert replanned.tasks[0].title == "Draft the copy, shorter"
    assert replanned.prompt_template is not None
    assert (replanned.prompt_template.name, replanned.prompt_template.version) == ("planner.replan", 1)
    assert (replanned.usage.total_tokens, replanned.planner) == (1050, "llm")
    assert await llm_planner.get_plan(USER, plan.id) == replanned
    # t3 is gone from the user's tasks, not just from the plan.
    tasks = (await llm_planner.list_tasks(USER, plan_id=plan.id)).tasks
    assert {t.id for t in tasks} == set(after.values())

    text = prompt(fake_openai.chat_requests[1])
    assert text.startswith("Revise this plan according to the user's feedback.")
    assert f"Feedback: {feedback}" in text
    assert '"key": "t3"' in text  # the current plan, with its keys, is what the model revises


async def test_an_llm_replan_that_stays_invalid_is_a_502_and_the_plan_is_unchanged(
    llm_planner: PlannerEngineClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_json(CHAIN)
    plan = await llm_planner.create_plan(PlanCreate(user_id=USER, intent="Launch the spring newsletter"))
    duplicate = draft([task("t1", "One"), task("t1", "Two")])
    fake_openai.reply_json(duplicate)
    fake_openai.reply_json(duplicate)

    response = await post(llm_planner, f"/v1/plans/{plan.id}/replan", {"user_id": USER, "feedback": "Merge them"})

    assert response.status_code == 502
    assert error(response)["code"] == "llm_output_invalid"
    assert "task keys must be unique; repeated: t1" in error(response)["message"]
    assert await llm_planner.get_plan(USER, plan.id) == plan
