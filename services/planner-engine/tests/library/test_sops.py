"""The SOP library edited directly over HTTP: create, read, list, version; conflicts, bad patterns, isolation."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from pma_core.clients import PlannerEngineClient, RemoteServiceError
from pma_core.contracts.library import SopCreate, SopRead, SopVersionCreate

USER = "alice"


def sop_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": USER,
        "name": "weekly-review",
        "title": "Weekly review",
        "summary": "Close the week",
        "intent": "Run my weekly review",
        "steps": [
            {"title": "Collect loose ends", "purpose": "Empty the inboxes", "done_criteria": ["Inboxes at zero"]},
            {"title": "Plan next week", "inputs": ["calendar"]},
        ],
        "tasks": [
            {"key": "collect", "title": "Collect loose ends", "estimate_minutes": 30, "step": 1, "tags": ["Admin"]},
            {"key": "plan", "title": "Plan next week", "estimate_minutes": 45, "step": 2, "depends_on": ["collect"]},
        ],
        "tags": ["review"],
    }
    return body | changes


async def create(planner: PlannerEngineClient, **changes: Any) -> SopRead:
    return await planner.create_sop(SopCreate.model_validate(sop_body(**changes)))


async def failure(call: Any) -> RemoteServiceError:
    with pytest.raises(RemoteServiceError) as caught:
        await call
    return caught.value


async def test_create_read_and_list(planner: PlannerEngineClient) -> None:
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        response = await http.post("/v1/sops", json=sop_body())
    assert response.status_code == 201
    created = SopRead.model_validate(response.json())

    assert (created.user_id, created.name, created.version, created.title) == (
        USER,
        "weekly-review",
        1,
        "Weekly review",
    )
    assert created.source_plan_id is None
    assert [step.title for step in created.steps] == ["Collect loose ends", "Plan next week"]
    assert created.steps[1].inputs == ["calendar"]
    assert [(t.key, t.depends_on, t.tags) for t in created.tasks] == [
        ("collect", [], ["admin"]),
        ("plan", ["collect"], []),
    ]
    assert await planner.get_sop(USER, created.id) == created
    assert (await planner.list_sops(USER)).sops == [created]


async def test_a_new_version_keeps_the_old_one_readable(planner: PlannerEngineClient) -> None:
    first = await create(planner)
    edit = sop_body(title="Weekly review, shorter", tasks=[])
    del edit["name"]

    second = await planner.add_sop_version(first.id, SopVersionCreate.model_validate(edit))

    assert (second.name, second.version, second.title, second.tasks) == (
        "weekly-review",
        2,
        "Weekly review, shorter",
        [],
    )
    assert second.id != first.id
    # Version 1 is unchanged; the list shows the current version only; versions lists both, newest first.
    assert await planner.get_sop(USER, first.id) == first
    assert [(s.id, s.version) for s in (await planner.list_sops(USER)).sops] == [(second.id, 2)]
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        versions = await http.get(f"/v1/sops/{first.id}/versions", params={"user_id": USER})
    assert versions.status_code == 200
    assert [(s["id"], s["version"]) for s in versions.json()["sops"]] == [(str(second.id), 2), (str(first.id), 1)]
    # Adding a version through any version of the SOP continues the same name.
    third = await planner.add_sop_version(first.id, SopVersionCreate.model_validate(edit))
    assert (third.name, third.version) == ("weekly-review", 3)


async def test_a_duplicate_name_is_a_409(planner: PlannerEngineClient) -> None:
    await create(planner)

    error = await failure(create(planner, title="Another"))

    assert (error.status_code, error.code) == (409, "sop_exists")
    assert error.details == {"name": "weekly-review"}
    # Another user may use the same name.
    assert (await create(planner, user_id="bob")).version == 1


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        (
            [
                {"key": "a", "title": "A", "estimate_minutes": 10, "depends_on": ["b"]},
                {"key": "b", "title": "B", "estimate_minutes": 10, "depends_on": ["a"]},
            ],
            "dependencies form a cycle: a -> b -> a; dependencies must be acyclic",
        ),
        (
            [{"key": "a", "title": "A", "estimate_minutes": 10, "depends_on": ["ghost"]}],
            "task a depends on unknown keys: ghost",
        ),
        (
            [{"key": "a", "title": "A", "estimate_minutes": 10}, {"key": "a", "title": "B", "estimate_minutes": 5}],
            "task keys must be unique; repeated: a",
        ),
        (
            [{"key": "a", "title": "A", "estimate_minutes": 10, "step": 3}],
            "task a names step 3; the SOP has 2 steps",
        ),
    ],
)
async def test_a_bad_task_pattern_is_a_422(planner: PlannerEngineClient, tasks: list[Any], message: str) -> None:
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        created = await http.post("/v1/sops", json=sop_body(tasks=tasks))
        assert created.status_code == 422
        error = created.json()["error"]
        assert error["code"] == "validation_error"
        assert error["details"] == [
            {"field": "body.tasks", "message": f"Value error, {message}", "type": "invalid_tasks"}
        ]

        # Nothing was stored, and a version with the same flaw is refused too.
        assert (await planner.list_sops(USER)).sops == []
        good = await create(planner)
        version = sop_body(tasks=tasks)
        del version["name"]
        edited = await http.post(f"/v1/sops/{good.id}/versions", json=version)
        assert edited.status_code == 422
        assert edited.json()["error"]["details"][0]["field"] == "body.tasks"
    assert [s.version for s in (await planner.list_sops(USER)).sops] == [1]


async def test_unknown_and_other_users_sops_are_404(planner: PlannerEngineClient) -> None:
    mine = await create(planner)
    version = sop_body()
    del version["name"]

    for user, sop_id in (("bob", mine.id), (USER, uuid4())):
        error = await failure(planner.get_sop(user, sop_id))
        assert (error.status_code, error.code, error.details) == (404, "not_found", {"sop_id": str(sop_id)})
        error = await failure(
            planner.add_sop_version(sop_id, SopVersionCreate.model_validate(version | {"user_id": user}))
        )
        assert error.status_code == 404
        async with httpx.AsyncClient(base_url=planner.base_url) as http:
            response = await http.get(f"/v1/sops/{sop_id}/versions", params={"user_id": user})
        assert response.status_code == 404
    assert (await planner.list_sops("bob")).sops == []
    assert [s.version for s in (await planner.list_sops(USER)).sops] == [1]
