"""The Coda Daily Thread adapter against a loopback fake of Coda API v1 (real HTTP, Coda's wire format).

Waits go through an injected sleep that records them and moves an injected clock, so backoffs and the
rate limiter are asserted to the second without being waited out.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from observer_agent.adapters.coda import CodaError, CodaNotConfigured, CodaThread
from observer_agent.domain.coda_rows import (
    CODA_ROW_LIMIT,
    ELLIPSIS,
    ReflectionKind,
    ThreadRow,
    coda_size,
    fit_row,
    fit_text,
)
from observer_agent.domain.ports import PosterBusy
from observer_agent.settings import CodaSettings
from pma_core.contracts.reflections import reflection_key
from pma_core.errors import AppError
from pma_core.testing.fake_coda import DEFAULT_TOKEN, MAX_PAGE_SIZE, FakeCoda, coda_row_size

DOC, TABLE = "doc-thread", "grid-thread"
NAMES = ("key", "user", "date", "kind", "title", "summary", "metrics", "suggestions", "chart", "updated")
COLUMNS = {f"c-{name}": name.title() for name in NAMES}
FULL_URL = "https://pma.example/reflections/42"

ThreadFactory = Callable[..., CodaThread]


class FakeTime:
    """The injected clock and sleep: a sleep records its wait and moves the clock on, at once."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeCoda]:
    with FakeCoda() as fake:
        yield fake


@pytest.fixture
def coda(server: FakeCoda) -> FakeCoda:
    server.reset()
    server.mutation_delay, server.max_page_size = 0.0, MAX_PAGE_SIZE
    server.add_table(DOC, TABLE, columns=COLUMNS, name="Daily Thread")
    return server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def make_thread(coda: FakeCoda, fake_time: FakeTime) -> AsyncIterator[ThreadFactory]:
    threads: list[CodaThread] = []

    def make(**overrides: Any) -> CodaThread:
        values: dict[str, Any] = {"api_token": SecretStr(DEFAULT_TOKEN), "base_url": coda.url, "doc_id": DOC}
        values |= {"table_id": TABLE, **{f"column_{name}": f"c-{name}" for name in NAMES}, **overrides}
        thread = CodaThread(CodaSettings(**values), sleep=fake_time.sleep, clock=fake_time.clock)
        threads.append(thread)
        return thread

    yield make
    for thread in threads:
        await thread.aclose()


@pytest.fixture
def thread(make_thread: ThreadFactory) -> CodaThread:
    return make_thread()


def reflection(
    *, day: date = date(2026, 5, 4), kind: ReflectionKind = "daily", title: str = "Monday", summary: str = "Steady."
) -> ThreadRow:
    return ThreadRow(
        key=reflection_key("u-1", day.isoformat(), kind), user_id="u-1", local_date=day, kind=kind, title=title,
        summary=summary,
        metrics="focus 4h", suggestions="start earlier", chart_url=None,
        updated_at=datetime(2026, 5, 4, 21, 0, tzinfo=UTC),
    )  # fmt: skip


async def test_upsert_then_find_after_the_queue_delay(coda: FakeCoda, thread: CodaThread) -> None:
    coda.mutation_delay = 0.3
    row = reflection()
    assert (await thread.upsert(row)).startswith("mutate:")
    assert await thread.find_rows(row.key) == []  # accepted and queued, not visible yet
    await asyncio.sleep(0.35)
    (found,) = await thread.find_rows(row.key)
    assert found["values"] == {
        "c-key": "u-1|2026-05-04|daily", "c-user": "u-1", "c-date": "2026-05-04", "c-kind": "daily",
        "c-title": "Monday", "c-summary": "Steady.", "c-metrics": "focus 4h", "c-suggestions": "start earlier",
        "c-chart": "", "c-updated": "2026-05-04T21:00:00+00:00",
    }  # fmt: skip


async def test_a_second_upsert_of_a_key_updates_and_never_duplicates(coda: FakeCoda, thread: CodaThread) -> None:
    row = reflection()
    await thread.upsert(row)
    await thread.upsert(replace(row, title="Monday, revised"))
    (found,) = await thread.find_rows(row.key)
    assert found["values"]["c-title"] == "Monday, revised"
    assert coda.key_counts(DOC, TABLE, "c-key") == Counter({row.key: 1})
    sent = coda.requests("write")[0].body
    assert sent["keyColumns"] == ["c-key"]
    assert [cell["column"] for cell in sent["rows"][0]["cells"]] == list(COLUMNS)  # ids, never names


async def test_columns_left_unset_are_not_sent(coda: FakeCoda, make_thread: ThreadFactory) -> None:
    await make_thread(column_chart=None, column_metrics=None, column_user=None).upsert(reflection())
    cells = coda.requests("write")[0].body["rows"][0]["cells"]
    assert {cell["column"] for cell in cells} == set(COLUMNS) - {"c-chart", "c-metrics", "c-user"}


async def test_every_row_already_holding_the_key_is_updated(coda: FakeCoda, thread: CodaThread) -> None:
    row = reflection()
    first = coda.add_row(DOC, TABLE, {"c-key": row.key, "c-title": "old one"})
    second = coda.add_row(DOC, TABLE, {"Key": row.key, "Title": "old two"})  # a user's copy, added by name
    coda.add_row(DOC, TABLE, {"c-key": "u-2|2026-05-04|daily", "c-title": "someone else's"})
    await thread.upsert(row)
    found = await thread.find_rows(row.key)
    assert [(r["id"], r["values"]["c-title"]) for r in found] == [(first, "Monday"), (second, "Monday")]
    assert coda.key_counts(DOC, TABLE, "c-key") == Counter({row.key: 2, "u-2|2026-05-04|daily": 1})
    assert coda.rows(DOC, TABLE)[2]["values"]["c-title"] == "someone else's"


async def test_a_429_without_retry_after_is_retried_after_the_backoff(
    coda: FakeCoda, thread: CodaThread, fake_time: FakeTime
) -> None:
    coda.inject("rate_limit_429", times=2, kind="write")
    row = reflection()
    await thread.upsert(row)
    assert fake_time.waits == [6.0, 12.0]  # at least backoff_seconds, doubling
    assert len(coda.requests("write")) == 3
    assert coda.key_counts(DOC, TABLE, "c-key") == Counter({row.key: 1})


async def test_a_retry_after_that_coda_sends_is_waited_out(
    coda: FakeCoda, thread: CodaThread, fake_time: FakeTime
) -> None:
    coda.inject("rate_limit_429", kind="write", retry_after=20)
    await thread.upsert(reflection())
    assert fake_time.waits == [20.0]


async def test_server_errors_are_retried(coda: FakeCoda, thread: CodaThread, fake_time: FakeTime) -> None:
    coda.inject("server_500", kind="write")
    coda.inject("server_502", kind="write")  # an HTML page from the CDN, not Coda's JSON
    row = reflection()
    await thread.upsert(row)
    assert fake_time.waits == [1.0, 2.0]
    assert coda.key_counts(DOC, TABLE, "c-key") == Counter({row.key: 1})


async def test_server_errors_past_max_attempts_raise(coda: FakeCoda, thread: CodaThread, fake_time: FakeTime) -> None:
    coda.inject("server_503", times=5, kind="write")
    with pytest.raises(CodaError) as caught:
        await thread.upsert(reflection())
    assert caught.value.status == 503
    assert "gave up after 5 attempts" in str(caught.value)
    assert fake_time.waits == [1.0, 2.0, 4.0, 8.0]


async def test_a_connection_dropped_after_the_write_landed_is_retried_into_one_row(
    coda: FakeCoda, thread: CodaThread, fake_time: FakeTime
) -> None:
    coda.inject("drop_after_apply", kind="write")
    row = reflection()
    request_id = await thread.upsert(row)
    assert len(coda.requests("write")) == 2
    assert fake_time.waits == [1.0]
    assert coda.key_counts(DOC, TABLE, "c-key") == Counter({row.key: 1})
    assert await thread.mutation_status(request_id) == "completed"


async def test_a_bad_token_is_refused_without_retrying(
    coda: FakeCoda, make_thread: ThreadFactory, fake_time: FakeTime
) -> None:
    with pytest.raises(CodaError) as caught:
        await make_thread(api_token=SecretStr("not-the-token")).upsert(reflection())
    assert (caught.value.status, caught.value.coda_message) == (401, "Unauthorized")
    assert caught.value.message == "Coda answered 401: Unauthorized"
    assert isinstance(caught.value, AppError)  # the domain's one error path catches it
    assert len(coda.requests("write")) == 1
    assert fake_time.waits == []


async def test_an_unknown_table_is_refused_without_retrying(coda: FakeCoda, make_thread: ThreadFactory) -> None:
    with pytest.raises(CodaError) as caught:
        await make_thread(table_id="grid-gone").find_rows("u-1|2026-05-04|daily")
    assert caught.value.status == 404
    assert len(coda.requests("read")) == 1


async def test_an_unconfigured_thread_sends_nothing(coda: FakeCoda, make_thread: ThreadFactory) -> None:
    thread = make_thread(api_token=None)
    assert not thread.configured
    with pytest.raises(CodaNotConfigured):
        await thread.upsert(reflection())
    assert coda.recorded == []


async def test_mutation_status_is_pending_until_the_write_lands(coda: FakeCoda, thread: CodaThread) -> None:
    coda.mutation_delay = 0.2
    request_id = await thread.upsert(reflection())
    assert await thread.mutation_status(request_id) == "pending"
    await asyncio.sleep(0.25)
    assert await thread.mutation_status(request_id) == "completed"
    assert coda.requests("status")[0].path == f"/apis/v1/mutationStatus/{request_id}"


async def test_mutation_status_is_missing_for_unknown_and_expired_ids(coda: FakeCoda, thread: CodaThread) -> None:
    assert await thread.mutation_status("mutate:never-issued") == "missing"
    request_id = await thread.upsert(reflection())
    coda.expire_mutation(request_id)
    assert await thread.mutation_status(request_id) == "missing"


async def test_find_rows_follows_page_tokens_to_the_end(coda: FakeCoda, thread: CodaThread) -> None:
    coda.max_page_size = 2  # Coda clamps `limit` silently: 200 asked, 2 served
    key = reflection().key
    ids = [coda.add_row(DOC, TABLE, {"c-key": key, "c-title": f"copy {n}"}) for n in range(5)]
    coda.add_row(DOC, TABLE, {"c-key": "u-2|2026-05-04|daily"})
    assert [row["id"] for row in await thread.find_rows(key)] == ids
    reads = coda.requests("read")
    assert dict(reads[0].query) == {
        "query": 'c-key:"u-1|2026-05-04|daily"', "limit": "200", "useColumnNames": "false", "valueFormat": "simple"
    }  # fmt: skip
    assert [set(dict(read.query)) for read in reads[1:]] == [{"pageToken"}, {"pageToken"}]
    assert {read.headers["x-coda-doc-version"] for read in reads} == {"latest"}


async def test_a_doc_version_400_is_retried(coda: FakeCoda, thread: CodaThread, fake_time: FakeTime) -> None:
    row = reflection()
    await thread.upsert(row)
    coda.fail_doc_version(2)
    assert len(await thread.find_rows(row.key)) == 1
    assert len(coda.requests("read")) == 3
    assert fake_time.waits == [2.0, 2.0]


async def test_a_doc_version_that_never_comes_raises(coda: FakeCoda, thread: CodaThread) -> None:
    coda.fail_doc_version(10)
    with pytest.raises(CodaError) as caught:
        await thread.find_rows(reflection().key)
    assert (caught.value.status, len(coda.requests("read"))) == (400, 5)


async def test_the_limiter_waits_when_writes_outrun_the_window(
    coda: FakeCoda, thread: CodaThread, fake_time: FakeTime
) -> None:
    rows = [reflection(day=date(2026, 5, 1) + timedelta(days=n)) for n in range(7)]
    await asyncio.gather(*(thread.upsert(row) for row in rows))
    # 5 writes per 6 s (the default, half of Coda's 10: n8n writes with the same token): the 6th waits until
    # the first leaves the window, the 7th then fits.
    assert fake_time.waits == [6.0]
    assert len(coda.requests("write")) == 7
    assert coda.key_counts(DOC, TABLE, "c-key") == Counter({row.key: 1 for row in rows})


async def test_a_bounded_write_without_a_slot_in_time_sends_and_books_nothing(
    coda: FakeCoda, thread: CodaThread, fake_time: FakeTime
) -> None:
    rows = [reflection(day=date(2026, 5, 1) + timedelta(days=n)) for n in range(6)]
    for row in rows[:5]:
        await thread.upsert(row)
    with pytest.raises(PosterBusy) as caught:
        await thread.upsert(rows[5], within=5.0)  # the next slot is 6 s away: the caller would wait past its time
    assert caught.value.wait_seconds == 6.0
    assert (fake_time.waits, len(coda.requests("write"))) == ([], 5)
    await thread.upsert(rows[5], within=6.0)  # the refused call booked nothing: this one has that 6th slot
    assert (fake_time.waits, len(coda.requests("write"))) == ([6.0], 6)


async def test_a_bounded_write_does_not_retry_past_its_time(
    coda: FakeCoda, thread: CodaThread, fake_time: FakeTime
) -> None:
    coda.inject("rate_limit_429", times=1, kind="write")
    with pytest.raises(CodaError) as caught:
        await thread.upsert(reflection(), within=3.0)  # the back-off after a 429 is 6 s
    assert caught.value.status == 429
    assert "no time left" in caught.value.message
    assert (fake_time.waits, len(coda.requests("write"))) == ([], 1)


def test_a_long_text_is_cut_on_a_word_boundary_with_a_pointer_to_the_full_reflection() -> None:
    text = "steady focus " * 10_000
    fitted = fit_text(text, budget=1_000, full_url=FULL_URL)
    note = f"{ELLIPSIS}\n\nfull reflection: {FULL_URL}"
    assert fitted.endswith(note)
    assert 950 < coda_size(fitted) <= 1_000
    kept = fitted.removesuffix(note)
    assert text.startswith(kept)
    assert text[len(kept)] == " "  # whole words only
    assert fit_text("short", budget=1_000, full_url=FULL_URL) == "short"


async def test_a_long_summary_is_posted_within_coda_s_row_limit(coda: FakeCoda, thread: CodaThread) -> None:
    summary = "a line of the day's reflection\n" * 8_000  # ~250 KB as Coda counts it
    row = fit_row(reflection(summary=summary), full_url=FULL_URL)
    assert (row.metrics, row.suggestions) == ("focus 4h", "start earlier")  # the short texts stay whole
    await thread.upsert(row)
    (found,) = await thread.find_rows(row.key)
    assert found["values"]["c-summary"].endswith(f"full reflection: {FULL_URL}")
    assert coda_row_size(found["values"]) <= CODA_ROW_LIMIT
    # The control: Coda (the fake) refuses the row as it was before fitting.
    cells = [{"column": "c-key", "value": "raw"}, {"column": "c-summary", "value": summary}]
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}) as client:
        refused = await client.post(f"{coda.url}/docs/{DOC}/tables/{TABLE}/rows", json={"rows": [{"cells": cells}]})
    assert refused.status_code == 400
    assert refused.json()["message"].endswith("exceeds maximum size of 85 KB.")


async def test_upsert_fits_a_row_that_was_not_fitted(coda: FakeCoda, thread: CodaThread) -> None:
    row = reflection(summary="word " * 40_000)
    await thread.upsert(row)  # the fake would answer 400 to the row as given
    (found,) = await thread.find_rows(row.key)
    assert found["values"]["c-summary"].endswith(ELLIPSIS)
