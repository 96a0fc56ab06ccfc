"""Deleting a user: their reflections go; another user's stay; deleting again deletes nothing."""

from __future__ import annotations

from .conftest import Observer
from .test_service import DAY, _seed_day


async def test_deleting_a_user_removes_their_reflections_only(observer: Observer) -> None:
    for user in ("ada", "bob"):
        _seed_day(observer.records, user=user)
        response = await observer.http.post("/v1/reflections/daily", json={"user_id": user, "date": str(DAY)})
        assert response.status_code == 200, response.text

    deleted = await observer.http.delete("/v1/users/ada")
    assert (deleted.status_code, deleted.json()) == (200, {"user_id": "ada", "deleted": {"reflections": 1}})
    listed = await observer.http.get("/v1/reflections", params={"user_id": "ada"})
    assert listed.json()["reflections"] == []
    assert len((await observer.http.get("/v1/reflections", params={"user_id": "bob"})).json()["reflections"]) == 1
    again = await observer.http.delete("/v1/users/ada")
    assert again.json()["deleted"] == {"reflections": 0}
