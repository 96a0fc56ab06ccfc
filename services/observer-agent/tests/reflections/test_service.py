"""Reflections over HTTP: built from the stand-ins' records, stored once per (user, period, kind), posted
to the fake Coda exactly once, indexed and remembered, and bad input refused with a clear 4xx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from pma_core.contracts.scheduling import BusyInterval
from pma_core.contracts.tasks import TaskRead
from pma_core.testing.fake_coda import FakeCoda

from .builders import at, block, run, task
from .conftest import DOC, TABLE, Observer, ObserverFactory, coda_settings
from .standins import Records

Json = dict[str, Any]

DAY = date(2026, 11, 23)  # a Monday, well in the past of "now"


def _seed_day(records: Records, user: str = "ada", day: date = DAY) -> TaskRead:
    records.profiles[user] = {"time_zone": "Europe/Berlin"}
    write = task("Write post", tags=["writing"], status="done", completed_at=at(day, "11:00"))
    review = task("Review PR")
    write, review = (t.model_copy(update={"user_id": user}) for t in (write, review))
    records.tasks += [write, review]
    records.blocks.setdefault(user, []).extend(
        [block(write.id, at(day, "09:00"), 90), block(review.id, at(day, "14:00"), 60)]
    )
    records.executions.append(run(write.id, at(day, "09:00"), 120, estimated=90).model_copy(update={"user_id": user}))
    records.busy[user] = [BusyInterval(start=at(day, "13:00"), end=at(day, "14:00"))]
    return review


async def _until(check: Any) -> Any:
    """Poll `check` until it answers something truthy (deliveries run after the response)."""
    for _ in range(200):
        if value := await check():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("not delivered within 10 s")


async def _reflection_until(observer: Observer, reflection_id: str, done: Callable[[Json], bool]) -> Json:
    """The reflection, once `done` holds for it (its deliveries run after the trigger answered)."""

    async def check() -> Json | None:
        got: Json = (await observer.http.get(f"/v1/reflections/{reflection_id}", params={"user_id": "ada"})).json()
        return got if done(got) else None

    found: Json = await _until(check)
    return found


def _posted(reflection: Json) -> bool:
    return bool(reflection["posting"]["status"] == "posted")


async def _daily(observer: Observer, **body: Any) -> dict[str, Any]:
    response = await observer.http.post("/v1/reflections/daily", json=body)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


async def test_a_daily_reflection_from_recorded_data_is_posted_once(observer: Observer) -> None:
    _seed_day(observer.records)
    [made] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    metrics = made["metrics"]
    assert (metrics["tasks_planned"], metrics["tasks_done"], metrics["planned_minutes"]) == (2, 1, 150)
    assert (metrics["actual_minutes"], metrics["meeting_minutes"]) == (120, 60)
    assert [c["title"] for c in metrics["carry_overs"]] == ["Review PR"]
    assert made["narrative_source"] == "offline"
    assert made["key"] == f"ada|{DAY}|daily"

    final = await _reflection_until(observer, made["id"], lambda r: _posted(r) and r["indexed"])
    assert observer.coda.key_counts(DOC, TABLE, "c-key") == {f"ada|{DAY}|daily": 1}
    [row] = observer.coda.rows(DOC, TABLE)
    assert "1/2 planned tasks done" in str(row)
    assert final["posting"]["request_id"]
    assert (("ada", f"{DAY}|daily") in observer.records.threads) is True

    # A rerun over unchanged records changes nothing: same reflection, same revision, nothing re-posted.
    writes = len(observer.coda.requests("write"))
    [again] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    assert (again["id"], again["revision"]) == (made["id"], 1)
    await asyncio.sleep(0.3)
    assert len(observer.coda.requests("write")) == writes


async def test_a_changed_day_updates_the_same_row(observer: Observer) -> None:
    review = _seed_day(observer.records)
    [first] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    await _reflection_until(observer, first["id"], _posted)
    observer.records.executions.append(
        run(review.id, at(DAY, "15:00"), 45, estimated=60).model_copy(update={"user_id": "ada"})
    )
    [second] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    assert (second["id"], second["revision"]) == (first["id"], 2)
    assert second["metrics"]["actual_minutes"] == 165
    await _reflection_until(observer, first["id"], _posted)
    assert observer.coda.key_counts(DOC, TABLE, "c-key") == {f"ada|{DAY}|daily": 1}
    assert "165" in str(observer.coda.rows(DOC, TABLE)[0])


async def test_two_triggers_at_once_make_one_reflection(observer: Observer) -> None:
    _seed_day(observer.records)
    body = {"user_id": "ada", "date": str(DAY)}
    one, two = await asyncio.gather(*(observer.http.post("/v1/reflections/daily", json=body) for _ in range(2)))
    assert one.json()["reflections"][0]["id"] == two.json()["reflections"][0]["id"]
    listed = (await observer.http.get("/v1/reflections", params={"user_id": "ada"})).json()["reflections"]
    assert len(listed) == 1
    await _reflection_until(observer, listed[0]["id"], _posted)
    assert observer.coda.key_counts(DOC, TABLE, "c-key") == {f"ada|{DAY}|daily": 1}


async def test_coda_down_leaves_it_unposted_then_the_retry_posts_it_once(observer: Observer) -> None:
    _seed_day(observer.records)
    observer.coda.inject("server_503", times=50, kind="write")
    [made] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    await _reflection_until(observer, made["id"], lambda r: r["posting"]["error"] is not None)
    assert observer.coda.rows(DOC, TABLE) == []
    observer.coda.reset()
    from .conftest import COLUMNS

    observer.coda.add_table(DOC, TABLE, columns=COLUMNS)
    retried = await observer.http.post(f"/v1/reflections/{made['id']}/post", json={"user_id": "ada"})
    assert retried.status_code == 200
    assert retried.json()["posting"]["status"] == "posted"
    assert observer.coda.key_counts(DOC, TABLE, "c-key") == {f"ada|{DAY}|daily": 1}


async def test_a_dropped_connection_after_the_write_landed_posts_one_row(observer: Observer) -> None:
    _seed_day(observer.records)
    observer.coda.inject("drop_after_apply", times=1, kind="write")
    [made] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    await _reflection_until(observer, made["id"], _posted)
    assert observer.coda.key_counts(DOC, TABLE, "c-key") == {f"ada|{DAY}|daily": 1}
    assert len(observer.coda.requests("write")) == 2


async def test_an_explicit_post_answers_within_its_wait_when_the_write_limit_is_booked(
    start_observer: ObserverFactory, coda: FakeCoda
) -> None:
    # One Coda write per 20 s: the first trigger's delivery takes it and the second's waits for the next one,
    # in the background. The explicit post of the second finds no write slot within post_wait_seconds (2 s):
    # it once queued behind the limiter (a fuzz run saw 13.4 s); it answers now, the row still owed, no error.
    async with start_observer(coda=coda_settings(coda, write_limit=1, limit_window_seconds=20.0)) as observer:
        [first] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
        await _reflection_until(observer, first["id"], _posted)
        [second] = (await _daily(observer, user_id="ada", date=str(DAY + timedelta(days=1))))["reflections"]
        started = time.monotonic()
        response = await observer.http.post(f"/v1/reflections/{second['id']}/post", json={"user_id": "ada"})
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        assert elapsed < 4.0, elapsed  # post_wait_seconds (2 s) and the calls, not the limiter's 20 s
        posting = response.json()["posting"]
        assert (posting["status"], posting["error"]) == ("unposted", None)
        assert len(observer.coda.requests("write")) == 1


async def test_without_coda_the_reflection_is_stored_unposted(start_observer: ObserverFactory) -> None:
    async with start_observer(coda_configured=False) as observer:
        _seed_day(observer.records)
        [made] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
        got = await _reflection_until(observer, made["id"], lambda r: r["indexed"])
        assert got["posting"]["status"] == "unposted"
        assert observer.coda.recorded == []


async def test_a_user_with_no_data_gets_an_honest_reflection(observer: Observer) -> None:
    [made] = (await _daily(observer, user_id="nobody", date=str(DAY)))["reflections"]
    assert made["metrics"]["tasks_planned"] == 0
    assert "nothing was planned or recorded" in made["narrative"]["summary"]
    assert made["metrics"]["sources"]["meetings"].startswith("none")


async def test_every_active_user_when_none_is_named(observer: Observer) -> None:
    _seed_day(observer.records, "ada")
    _seed_day(observer.records, "bob")
    outcome = await _daily(observer, date=str(DAY))
    assert sorted(r["user_id"] for r in outcome["reflections"]) == ["ada", "bob"]
    assert outcome["failed"] == []


async def test_an_evening_trigger_reflects_on_the_day_that_is_ending(observer: Observer) -> None:
    today = datetime.now(UTC).date()  # the stand-in's users live in UTC
    [named] = (await _daily(observer, user_id="ada", default_day="today"))["reflections"]
    [unnamed] = (await _daily(observer, user_id="ada"))["reflections"]
    assert (named["period"], unnamed["period"]) == (str(today), str(today - timedelta(days=1)))
    refused = await observer.http.post("/v1/reflections/daily", json={"user_id": "ada", "default_day": "tomorrow"})
    assert refused.status_code == 422
    assert "default_day" in refused.text


async def test_the_scheduler_failing_is_an_upstream_error_and_stores_nothing(observer: Observer) -> None:
    _seed_day(observer.records)
    observer.records.down.add("scheduler")  # it answers 503: to the observer's caller, a 502 naming it
    response = await observer.http.post("/v1/reflections/daily", json={"user_id": "ada", "date": str(DAY)})
    assert response.status_code == 502
    assert "scheduler-engine" in response.text
    listed = (await observer.http.get("/v1/reflections", params={"user_id": "ada"})).json()
    assert listed["reflections"] == []


async def test_events_unavailable_is_said_not_fatal(observer: Observer) -> None:
    _seed_day(observer.records)
    observer.records.down.add("memory")
    [made] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    assert made["metrics"]["sources"]["events"].startswith("unavailable")
    assert any(w.startswith("events: unavailable") for w in made["warnings"])
    assert made["indexed"] is False


async def test_bad_input_is_a_clear_4xx(observer: Observer) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    cases = [
        ("/v1/reflections/daily", {"user_id": "ada", "date": str(tomorrow)}, "in the future"),
        ("/v1/reflections/daily", {"user_id": "ada", "date": "2026-13-01"}, "date"),
        ("/v1/reflections/daily", {"user_id": "ada", "date": 0}, "YYYY-MM-DD"),
        ("/v1/reflections/weekly", {"user_id": "ada", "week": "2025-W53"}, "ISO weeks 1..52"),
        ("/v1/reflections/weekly", {"user_id": "ada", "week": "2026-48"}, "week"),
    ]
    for path, body, words in cases:
        response = await observer.http.post(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.text, (body, response.text)
    unknown = await observer.http.get(f"/v1/reflections/{uuid4()}", params={"user_id": "ada"})
    assert unknown.status_code == 404
    inverted = await observer.http.get(
        "/v1/reflections", params={"user_id": "ada", "from": "2026-11-02", "to": "2026-11-01"}
    )
    assert inverted.status_code == 422


async def test_a_period_at_the_ends_of_the_calendar_is_a_422_not_a_server_error(observer: Observer) -> None:
    # 9999-W52 ends on 2 January 10000 and the UTC window of 9999-12-31 runs past it: both once overflowed
    # `date` (a 500) before the period was checked; a day before 2000 is refused by the contract itself.
    cases = [
        ("/v1/reflections/daily", {"date": "9999-12-31"}, "the year must be from 2 to 9998"),  # every IsoDate
        ("/v1/reflections/daily", {"date": "9998-12-31"}, "not begun anywhere"),
        ("/v1/reflections/weekly", {"week": "9999-W52"}, "not begun anywhere"),
        ("/v1/reflections/weekly", {"user_id": "ada", "week": "9999-W52"}, "has not begun"),
        ("/v1/reflections/daily", {"user_id": "ada", "date": "9998-12-31"}, "in the future"),
        ("/v1/reflections/daily", {"date": "1999-12-31"}, "before 2000-01-01"),
        ("/v1/reflections/weekly", {"week": "1999-W52"}, "before 2000-W01"),
        ("/v1/reflections/weekly", {"user_id": "ada", "week": "0000-W01"}, "before 2000-W01"),
    ]
    for path, body, words in cases:
        response = await observer.http.post(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.text, (body, response.text)
    chart = await observer.http.get("/v1/reflections/ada/weekly/0000-W01/chart.svg")
    assert chart.status_code == 422, chart.text
    # The first period taken: its "week before" (1999-W52, for the trend) is read, never refused.
    first_week = await observer.http.post("/v1/reflections/weekly", json={"user_id": "ada", "week": "2000-W01"})
    first_day = await observer.http.post("/v1/reflections/daily", json={"user_id": "ada", "date": "2000-01-01"})
    assert (first_week.status_code, first_day.status_code) == (200, 200), (first_week.text, first_day.text)


async def test_another_users_reflection_is_a_404(observer: Observer) -> None:
    _seed_day(observer.records)
    [made] = (await _daily(observer, user_id="ada", date=str(DAY)))["reflections"]
    response = await observer.http.get(f"/v1/reflections/{made['id']}", params={"user_id": "mallory"})
    assert response.status_code == 404
    retry = await observer.http.post(f"/v1/reflections/{made['id']}/post", json={"user_id": "mallory"})
    assert retry.status_code == 404


async def test_similar_days_are_the_users_other_reflections(observer: Observer) -> None:
    made = []
    for offset in range(3):
        [reflection] = (await _daily(observer, user_id="ada", date=str(DAY + timedelta(days=offset))))["reflections"]
        made.append(await _reflection_until(observer, reflection["id"], lambda r: r["indexed"]))
    response = await observer.http.get(f"/v1/reflections/{made[0]['id']}/similar", params={"user_id": "ada"})
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    assert sorted(h["reflection"]["id"] for h in hits) == sorted(r["id"] for r in made[1:])
    assert all(h["score"] > 0 for h in hits)
    strangers = await observer.http.get(f"/v1/reflections/{made[0]['id']}/similar", params={"user_id": "mallory"})
    assert strangers.status_code == 404


async def test_weekly_reflection_remembers_insights_and_serves_its_chart(observer: Observer) -> None:
    records = observer.records
    records.profiles["ada"] = {"time_zone": "Europe/Berlin"}
    monday = date(2026, 11, 16)
    for offset in range(5):
        day = monday + timedelta(days=offset)
        writing = task(f"Draft {offset}", tags=["writing"], status="done", completed_at=at(day, "12:00"))
        records.tasks.append(writing)
        records.blocks.setdefault("ada", []).append(block(writing.id, at(day, "09:00"), 60))
        records.executions.append(run(writing.id, at(day, "09:00"), 84, estimated=60))
    response = await observer.http.post("/v1/reflections/weekly", json={"user_id": "ada", "week": "2026-W47"})
    assert response.status_code == 200, response.text
    [made] = response.json()["reflections"]
    assert [d["actual_minutes"] for d in made["metrics"]["days"]] == [84] * 5 + [0, 0]
    [insight] = made["insights"]
    assert (insight["tag"], insight["factor"], insight["samples"]) == ("writing", 1.4, 5)
    assert made["chart_url"].endswith(f"/v1/charts/{made['id']}.svg")  # the random id is the link's secret

    async def remembered() -> bool:
        return any(m.key == "insight.estimate_factor.writing" for m in records.memories)

    await _until(remembered)
    [memory] = [m for m in records.memories if m.key == "insight.estimate_factor.writing"]
    assert (memory.kind, memory.source, memory.metadata["factor"]) == ("observation", "observer-agent", 1.4)
    chart = await observer.http.get("/v1/reflections/ada/weekly/2026-W47/chart.svg")
    assert chart.status_code == 200
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in chart.text
    assert "planned" in chart.text
    assert (await observer.http.get("/v1/reflections/ada/weekly/2026-W40/chart.svg")).status_code == 404
    linked = await observer.http.get("/v1/" + made["chart_url"].split("/v1/", 1)[1])
    assert (linked.status_code, linked.text) == (200, chart.text)
    assert (await observer.http.get(f"/v1/charts/{uuid4()}.svg")).status_code == 404
    await _reflection_until(observer, made["id"], _posted)
    assert observer.coda.key_counts(DOC, TABLE, "c-key") == {"ada|2026-W47|weekly": 1}
