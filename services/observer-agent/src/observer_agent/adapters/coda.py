"""The Coda "Daily Thread" adapter: posts reflection rows through Coda API v1, politely and never twice.

Every post is an upsert keyed on the key column ("user|date|kind"), so a retry (after a 429, a 5xx, a
timeout, or a connection dropped after Coda took the write) can only update the row it meant to write,
never add a second one. Coda queues writes (202 + requestId): `mutation_status` says when one has landed,
and `find_rows` reads with `X-Coda-Doc-Version: latest`, so it never answers from a stale snapshot.

One limiter per instance (so per token) keeps under Coda's published 10 writes and 100 reads per 6 s,
waiting rather than failing (unless the caller bounded its wait: `within`, see `PosterBusy`). Coda's
buckets are per user (and IP), so 429s can still come from other clients: they are retried after at least
`backoff_seconds`, doubling up to 60 s (Coda sends no Retry-After; one that does arrive is honoured up to
that cap).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from observer_agent.domain.coda_rows import ThreadRow, fit_row
from observer_agent.domain.ports import PosterBusy
from observer_agent.settings import CodaSettings
from pma_core.errors import UpstreamError

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
MutationState = Literal["completed", "pending", "missing"]
_Kind = Literal["write", "read"]
_MAX_WAIT_SECONDS = 60.0
_TRANSIENT_WAIT_SECONDS = 1.0  # the first wait after a 5xx or a network error; it doubles
# Coda answers 400 to a `latest` read while its snapshot lags (seconds to minutes on a busy doc).
_STALE_RETRIES = 4
_STALE_WAIT_SECONDS = 2.0
_PAGE_SIZE = 200  # asked for, not trusted: Coda clamps it silently, only nextPageToken says "more"
_RETRYABLE = (httpx.NetworkError, httpx.RemoteProtocolError, httpx.TimeoutException)


class CodaError(UpstreamError):
    """Coda refused, or kept failing until the attempts ran out.

    An `AppError` (502), so the domain's and the app's one error path handle it. `status` is Coda's HTTP
    status (None for a network error), `coda_message` Coda's own words, `message` the whole story.
    """

    code = "coda_error"

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"Coda answered {status}: {message}" if status else f"Coda: {message}")
        self.status, self.coda_message = status, message


class CodaNotConfigured(CodaError):  # noqa: N818 - the name callers were promised; it is a state, not a fault
    status_code = 503
    code = "coda_not_configured"

    def __init__(self) -> None:
        super().__init__(None, "not configured: CODA_API_TOKEN, CODA_DOC_ID, CODA_TABLE_ID, CODA_COLUMN_KEY")


class _Limiter:
    """At most `limit` calls in any `window` seconds (sliding); callers wait their turn in order.

    A caller books the earliest free slot at once and sleeps until it, so how long it would wait is known
    before it waits: one given `within` that cannot have a slot in time books nothing (`PosterBusy`), so
    an explicit post answers in its own time instead of queueing behind every delivery in flight.
    """

    def __init__(self, limit: int, window: float, *, sleep: Sleep, clock: Clock) -> None:
        self._limit, self._window, self._sleep, self._clock = limit, window, sleep, clock
        self._slots: deque[float] = deque()  # booked, in order: the last ones may lie in the future

    async def acquire(self, *, within: float | None = None) -> None:
        now = self._clock()
        while self._slots and self._slots[0] <= now - self._window:
            self._slots.popleft()
        # The `limit`-th booking back must have left the window; fewer bookings than that are all past.
        slot = now if len(self._slots) < self._limit else max(now, self._slots[-self._limit] + self._window)
        if within is not None and slot - now > within:
            raise PosterBusy(slot - now)
        self._slots.append(slot)
        if slot > now:
            await self._sleep(slot - now)


@dataclass(frozen=True, slots=True)
class _Retry:
    status: int | None
    reason: str
    retry_after: float | None = None
    stale: bool = False  # a `latest` read Coda could not serve yet


class CodaThread:
    """Posts `ThreadRow`s to the configured Coda table, reads them back by key; `aclose` when done."""

    def __init__(self, settings: CodaSettings, *, sleep: Sleep = asyncio.sleep, clock: Clock = time.monotonic) -> None:
        self._settings, self._sleep, self._clock = settings, sleep, clock
        window = settings.limit_window_seconds
        self._limits: dict[_Kind, _Limiter] = {
            "write": _Limiter(settings.write_limit, window, sleep=sleep, clock=clock),
            "read": _Limiter(settings.read_limit, window, sleep=sleep, clock=clock),
        }
        self._client = httpx.AsyncClient(base_url=settings.base_url, timeout=settings.timeout_seconds)

    @property
    def configured(self) -> bool:
        return self._settings.configured

    async def upsert(self, row: ThreadRow, *, within: float | None = None) -> str:
        """Insert the row, or update every row holding its key; returns Coda's requestId for the write.

        Its long texts are first fitted into Coda's 85 KB row limit (a refused row never succeeds).
        """
        doc_id, table_id, key_column = self._target()
        body = {"rows": [{"cells": self._cells(fit_row(row))}], "keyColumns": [key_column]}
        response = await self._call("write", "POST", _rows_path(doc_id, table_id), body=body, within=within)
        request_id = _json(response).get("requestId")
        if not isinstance(request_id, str) or not request_id:
            raise CodaError(response.status_code, "the answer to an upsert carries no requestId")
        return request_id

    async def mutation_status(self, request_id: str, *, within: float | None = None) -> MutationState:
        """Whether a write has landed; "missing" when Coda does not know the id (expired after about a
        day, or, for a few seconds right after the write, not replicated yet)."""
        self._target()
        path = f"/mutationStatus/{quote(request_id, safe='')}"
        response = await self._call("read", "GET", path, allow=(404,), within=within)
        if response.status_code == 404:
            return "missing"
        return "completed" if _json(response).get("completed") is True else "pending"

    async def find_rows(self, key: str) -> list[dict[str, Any]]:
        """Every row holding `key` in the key column, from the doc's latest version, all pages."""
        doc_id, table_id, key_column = self._target()
        query = f"{key_column}:{json.dumps(key, ensure_ascii=False)}"
        params = {"query": query, "limit": str(_PAGE_SIZE), "useColumnNames": "false", "valueFormat": "simple"}
        rows: list[dict[str, Any]] = []
        while True:
            response = await self._call("read", "GET", _rows_path(doc_id, table_id), params=params, latest=True)
            page = _json(response)
            rows.extend(item for item in page.get("items") or [] if isinstance(item, dict))
            token = page.get("nextPageToken")
            if not isinstance(token, str) or not token:
                return rows
            params = {"pageToken": token}  # it implies the rest of the query; Coda ignores anything beside it

    async def aclose(self) -> None:
        await self._client.aclose()

    def _target(self) -> tuple[str, str, str]:
        settings = self._settings
        if not settings.configured or not (settings.doc_id and settings.table_id and settings.column_key):
            raise CodaNotConfigured()
        return settings.doc_id, settings.table_id, settings.column_key

    def _cells(self, row: ThreadRow) -> list[dict[str, str]]:
        # By column id only: names are the user's to rename. A column left unset is not written.
        s = self._settings
        values = [
            (s.column_key, row.key), (s.column_user, row.user_id), (s.column_date, row.local_date.isoformat()),
            (s.column_kind, row.kind), (s.column_title, row.title), (s.column_summary, row.summary),
            (s.column_metrics, row.metrics), (s.column_suggestions, row.suggestions),
            (s.column_chart, row.chart_url or ""), (s.column_updated, row.updated_at.isoformat()),
        ]  # fmt: skip
        return [{"column": column, "value": value} for column, value in values if column]

    async def _call(
        self,
        kind: _Kind,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        latest: bool = False,
        allow: tuple[int, ...] = (),
        within: float | None = None,
    ) -> httpx.Response:
        """One request through the limiter, retried while that is safe and the attempts last.

        With `within`, the call's waits (for a slot, between attempts) end within that many seconds: no slot
        in time is `PosterBusy` (nothing sent); no time left for the next retry is the failure as it stands.
        """
        deadline = None if within is None else self._clock() + within
        failures = stale = 0
        while True:
            left = None if deadline is None else max(0.0, deadline - self._clock())
            await self._limits[kind].acquire(within=left)
            outcome = await self._attempt(method, path, params=params, body=body, latest=latest, allow=allow)
            if isinstance(outcome, httpx.Response):
                return outcome
            if outcome.stale:
                stale += 1
                if stale > _STALE_RETRIES:
                    raise CodaError(400, f"{outcome.reason} (the doc's latest version stayed unavailable)")
                await self._pause(_STALE_WAIT_SECONDS, deadline, outcome)
                continue
            failures += 1
            if failures >= self._settings.max_attempts:
                raise CodaError(outcome.status, f"{outcome.reason} (gave up after {failures} attempts)")
            await self._pause(self._wait(outcome, failures), deadline, outcome)

    async def _pause(self, seconds: float, deadline: float | None, outcome: _Retry) -> None:
        if deadline is not None and self._clock() + seconds > deadline:
            raise CodaError(outcome.status, f"{outcome.reason} (no time left to retry within the caller's wait)")
        await self._sleep(seconds)

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        body: Any,
        latest: bool,
        allow: tuple[int, ...],
    ) -> httpx.Response | _Retry:
        token = self._settings.api_token.get_secret_value() if self._settings.api_token else ""
        headers = {"Authorization": f"Bearer {token}"}
        if latest:
            headers["X-Coda-Doc-Version"] = "latest"
        try:
            response = await self._client.request(method, path, params=params, json=body, headers=headers)
        except _RETRYABLE as exc:
            return _Retry(None, f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if status < 400 or status in allow:
            return response
        message = _message(response)
        if status == 429:
            return _Retry(429, message, retry_after=_retry_after(response))
        if status >= 500:
            return _Retry(status, message)
        if status == 400 and latest:
            # Coda marks the staleness 400 by its wording only, so every 400 to a `latest` read is
            # taken for one, for a bounded number of retries (our queries are built here, not typed).
            return _Retry(400, message, stale=True)
        raise CodaError(status, message)  # 401, 403, 404, other 400s: retrying cannot change them

    def _wait(self, outcome: _Retry, failures: int) -> float:
        doubling = 2.0 ** (failures - 1)
        if outcome.status == 429:
            wait = max(self._settings.backoff_seconds * doubling, outcome.retry_after or 0.0)
        else:
            wait = _TRANSIENT_WAIT_SECONDS * doubling
        return min(wait, _MAX_WAIT_SECONDS)


def _rows_path(doc_id: str, table_id: str) -> str:
    return f"/docs/{quote(doc_id, safe='')}/tables/{quote(table_id, safe='')}/rows"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise CodaError(response.status_code, "the answer is not a JSON object")
    return body


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("message") or body.get("statusMessage")):
        return str(body.get("message") or body.get("statusMessage"))
    return response.reason_phrase or response.text[:200]


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:  # the other form HTTP allows: a date
        return max((parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None
