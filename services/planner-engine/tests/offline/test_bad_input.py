"""Bad input to the plan endpoints: a 4xx whose JSON error names the field and says why, and nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from pma_core.clients import PlannerEngineClient

USER = "alice"


@pytest.fixture
async def http(planner: PlannerEngineClient) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=planner.base_url, timeout=15) as client:
        yield client


def field_error(response: httpx.Response, field: str, message: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith("invalid request: ")
    matching = [d for d in error["details"] if d["field"] == field]
    assert matching, error
    assert message in matching[0]["message"], matching
    assert f"{field}: " in error["message"]
    return matching[0]


async def test_bad_plan_bodies_name_the_field(http: httpx.AsyncClient) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"intent": ""}, "body.intent", "at least 1 character"),
        ({"intent": "   "}, "body.intent", "at least 1 character"),
        ({"intent": "x" * 2001}, "body.intent", "at most 2000 characters"),
        ({"intent": "Plan", "due_at": past}, "body.due_at", "due_at is in the past"),
        ({"intent": "Plan", "due_at": "2099-01-01T10:00:00"}, "body.due_at", "timezone"),
        ({"intent": "Plan", "planner": "magic"}, "body.planner", "'auto', 'llm' or 'offline'"),
        ({"intent": "Plan", "sop_id": "nope"}, "body.sop_id", "valid UUID"),
        ({"intent": "Plan", "colour": "red"}, "body.colour", "Extra inputs are not permitted"),
        ({"intent": "Plan", "context": "c" * 8001}, "body.context", "at most 8000 characters"),
        ({"intent": "Plan", "user_id": "has space"}, "body.user_id", "should match pattern"),
    ]
    for fields, field, message in cases:
        response = await http.post("/v1/plans", json={"user_id": USER} | fields)
        detail = field_error(response, field, message)
        assert detail["type"]
    # Exactly 2000 characters is fine.
    assert (await http.post("/v1/plans", json={"user_id": USER, "intent": "x" * 2000})).status_code == 201
    listed = (await http.get("/v1/plans", params={"user_id": USER})).json()["plans"]
    assert [len(p["intent"]) for p in listed] == [2000]


async def test_bad_paths_and_queries_name_the_parameter(http: httpx.AsyncClient) -> None:
    field_error(await http.get("/v1/plans/not-a-uuid", params={"user_id": USER}), "path.plan_id", "valid UUID")
    field_error(
        await http.get("/v1/plans", params={"user_id": USER, "limit": 101}), "query.limit", "less than or equal to 100"
    )
    field_error(
        await http.get("/v1/plans", params={"user_id": USER, "limit": 0}), "query.limit", "greater than or equal to 1"
    )
    field_error(await http.get("/v1/plans", params={"user_id": USER, "status": "someday"}), "query.status", "'draft'")
    field_error(await http.get("/v1/plans"), "query.user_id", "Field required")
    field_error(await http.get("/v1/tasks", params={"user_id": USER, "status": "later"}), "query.status", "'todo'")
    field_error(await http.get("/v1/tasks", params={"user_id": USER, "limit": 1001}), "query.limit", "1000")
    field_error(await http.get("/v1/sops/123", params={"user_id": USER}), "path.sop_id", "valid UUID")
    field_error(
        await http.post(f"/v1/plans/{uuid4()}/status", json={"user_id": USER, "status": "finished"}),
        "body.status",
        "'draft'",
    )
    field_error(
        await http.post(f"/v1/plans/{uuid4()}/replan", json={"user_id": USER, "feedback": ""}),
        "body.feedback",
        "at least 1 character",
    )


async def test_an_unknown_plan_is_a_404_naming_it(http: httpx.AsyncClient) -> None:
    missing = uuid4()
    expected = {
        "code": "not_found",
        "message": f"no plan {missing} for user {USER}",
        "details": {"plan_id": str(missing)},
    }
    calls = [
        http.get(f"/v1/plans/{missing}", params={"user_id": USER}),
        http.post(f"/v1/plans/{missing}/accept", json={"user_id": USER}),
        http.post(f"/v1/plans/{missing}/status", json={"user_id": USER, "status": "cancelled"}),
        http.post(f"/v1/plans/{missing}/replan", json={"user_id": USER, "feedback": "make t1 urgent"}),
        http.post(f"/v1/plans/{missing}/schedule", json={"user_id": USER}),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404
        assert response.json()["error"] == expected


async def test_a_move_the_lifecycle_forbids_is_a_409_naming_the_allowed_moves(http: httpx.AsyncClient) -> None:
    plan = (await http.post("/v1/plans", json={"user_id": USER, "intent": "Tidy the garage"})).json()

    response = await http.post(f"/v1/plans/{plan['id']}/status", json={"user_id": USER, "status": "done"})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "illegal_transition"
    assert error["details"] == {"status": "draft", "requested": "done", "allowed": ["accepted", "cancelled"]}
    assert "from draft it can go to: accepted, cancelled" in error["message"]
