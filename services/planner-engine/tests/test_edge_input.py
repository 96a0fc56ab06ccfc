"""The planner refuses at the edge what Postgres cannot store and datetimes given as numbers."""

from __future__ import annotations

import httpx
import pytest

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanCreate


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/plans", {"user_id": "u", "intent": "Launch\u0000"}, "body.intent"),
        ("POST", "/v1/executions", {"user_id": "u", "outcome": "\u0000"}, "body.outcome"),
        ("GET", "/v1/executions?user_id=u&since=0", None, "query.since"),
        ("GET", "/v1/executions?user_id=u&until=1700000000", None, "query.until"),
        ("POST", "/v1/executions", {"user_id": "u", "started_at": 0}, "body.started_at"),
    ],
)
async def test_bad_strings_and_numeric_datetimes_are_422(
    planner: PlannerEngineClient, method: str, path: str, body: object, field: str
) -> None:
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        response = await http.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    assert (await planner.list_plans("u")).plans == []


async def test_a_version_beyond_the_columns_range_is_422(planner: PlannerEngineClient) -> None:
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        response = await http.post(f"/v1/prompt-templates/planner.plan/versions/{2**31}/activate")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.version"


async def test_a_due_date_already_past_is_said_in_the_warnings(planner: PlannerEngineClient) -> None:
    plan = await planner.create_plan(PlanCreate(user_id="u", intent="File the 2019 taxes by 1 March 2020"))
    assert plan.due_at is None
    assert any("already past" in warning for warning in plan.warnings)
