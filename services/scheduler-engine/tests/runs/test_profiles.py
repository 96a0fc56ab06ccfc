"""Scheduling profiles over HTTP: defaults, a full replace, and the 422s a profile can earn."""

from __future__ import annotations

import httpx
import pytest

from pma_core.clients import SchedulerEngineClient
from pma_core.contracts.scheduling import SchedulingProfile, TimeWindow


async def test_a_user_has_the_defaults_until_they_set_a_profile(scheduler: SchedulerEngineClient) -> None:
    default = await scheduler.get_profile("alice")
    assert (default.time_zone, default.updated_at, sorted(default.working_hours)) == (
        "UTC", None, ["fri", "mon", "thu", "tue", "wed"],
    )  # fmt: skip
    mine = SchedulingProfile(
        time_zone="Asia/Kolkata", working_hours={"mon": [TimeWindow(start="10:00", end="18:30")]}, buffer_minutes=15
    )
    stored = await scheduler.put_profile("alice", mine)
    assert (stored.time_zone, stored.buffer_minutes, stored.updated_at is not None) == ("Asia/Kolkata", 15, True)
    assert (await scheduler.get_profile("alice")).working_hours == {"mon": [TimeWindow(start="10:00", end="18:30")]}
    assert (await scheduler.get_profile("bob")).time_zone == "UTC"  # one user's profile is theirs only


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "body.time_zone"),
        ({"working_hours": {"mon": [{"start": "17:00", "end": "09:00"}]}}, "body.working_hours.mon.0"),
        ({"working_hours": {"someday": []}}, "body.working_hours.someday"),
        ({"min_chunk_minutes": 90, "max_chunk_minutes": 60}, "body"),
        ({"buffer_minutes": -5}, "body.buffer_minutes"),
        ({"time_zone": "../../etc/passwd"}, "body.time_zone"),
        # A day off is "YYYY-MM-DD", never a number read as seconds since 1970.
        ({"days_off": [0]}, "body.days_off.0"),
        ({"protected": [{"start": "10:00", "end": "09:00"}]}, "body.protected.0"),
    ],
)
async def test_a_bad_profile_is_422_naming_the_field(
    scheduler: SchedulerEngineClient, body: dict[str, object], field: str
) -> None:
    async with httpx.AsyncClient(base_url=scheduler.base_url) as http:
        response = await http.put("/v1/profiles/alice", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"].startswith(field)
