"""Google Calendar as the scheduler's `CalendarBackend`, through googleapiclient (API v3).

googleapiclient is synchronous (httplib2): every call runs in a worker thread (`asyncio.to_thread`), one
call at a time per adapter method, each method on a service object of its own (httplib2 is not
thread-safe). The access token is refreshed by google-auth inside those calls (on expiry, and once more
on a 401); the refreshed token lives on the `Credentials` object `credentials_for` returned.

Our events: id `"pma" + block_id.hex` (deterministic, valid base32hex, so a rerun after a crash finds
the event instead of duplicating it) and `extendedProperties.private` {"pma": "1", "pma_block_id",
"pma_task_id", "pma_start", "pma_end"}: the last two are the times `sync` wrote, which is how `changes`
tells a move by the user from our own writes. `sync` never touches an event without `pma=1`.

Retries: 429, 403 rateLimitExceeded/userRateLimitExceeded, 5xx and transport failures (dropped
connections, timeouts) are retried with exponential backoff and jitter, up to `RetryPolicy.attempts`
calls; then `CalendarUnavailableError`. 403 quotaExceeded raises `CalendarQuotaExceeded` at once, a 401
that survives google-auth's refresh or a refused refresh token raises `CalendarAuthorizationError`.
Beware: httplib2 itself resends a request once when the server closes a connection without answering,
which the deterministic ids make harmless for inserts (a 409 we resolve).

No error message or log line carries a token (refresh errors are re-raised `from None`: google-auth may
put the token endpoint's answer in them).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import random
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal, cast
from uuid import UUID

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from pma_core.errors import AppError, UnavailableError, UpstreamError
from scheduler_engine.domain.models import CalendarBlock, CalendarChange, ChangeBatch, Interval, SyncResult

_log = logging.getLogger(__name__)

Json = dict[str, Any]
# Returns the user's Google credentials (with a refresh token, token_uri, client id and secret); async,
# since they come from storage. The adapter may refresh them in place (their `token` and `expiry` change).
CredentialsFor = Callable[[str], Awaitable[Credentials]]
Outcome = Literal["created", "updated", "deleted", "unchanged"]

EVENT_ID_PREFIX = "pma"
_OUR_ID = re.compile(r"pma([0-9a-f]{32})")
_PRIVATE_MARK = ("pma", "1")
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
# What a dropped connection, a timeout or a refused connection raise from httplib2 and google-auth.
_TRANSPORT_ERRORS = (OSError, http.client.HTTPException, httplib2.HttpLib2Error, TransportError)
REAUTHORISE_HINT = "re-authorise through /v1/oauth/google/start or `pma google-auth`"


class CalendarQuotaExceeded(UnavailableError):  # noqa: N818 - the name the callers know
    """Google's per-project calendar usage limit is spent (403 quotaExceeded): pause this user's sync."""

    code = "google_calendar_quota_exceeded"

    def __init__(self, user_id: str, message: str) -> None:
        super().__init__(message, details={"user_id": user_id})
        self.user_id = user_id


class CalendarAuthorizationError(AppError):
    """The user's Google grant no longer works (revoked, expired, or a 401 after a refresh).

    409, not 401: the caller of our API is authenticated; it is the stored Google grant that conflicts
    with what Google accepts, and only the user re-authorising resolves it.
    """

    status_code = 409
    code = "google_reauthorization_required"

    def __init__(self, user_id: str) -> None:
        message = f"Google Calendar access for user {user_id!r} was revoked or has expired; {REAUTHORISE_HINT}."
        super().__init__(message, details={"user_id": user_id})
        self.user_id = user_id


class CalendarUnavailableError(UnavailableError):
    """Google kept failing (rate limits, 5xx, dropped connections) through every attempt."""

    code = "google_calendar_unavailable"


class CalendarRequestError(UpstreamError):
    """Google refused a request for a reason retrying does not cure (400, 404...)."""

    code = "google_calendar_error"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `attempts` calls; before call n+1 wait base * 2**(n-1), capped, with jitter in [half, full]."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, failed_attempts: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (failed_attempts - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def event_id(block_id: UUID) -> str:
    """Our deterministic Google event id for a block."""
    return EVENT_ID_PREFIX + block_id.hex


def block_id_of(event: Json) -> UUID | None:
    """The block an event is ours for, by its id alone (cancelled events carry little more)."""
    match = _OUR_ID.fullmatch(str(event.get("id", "")))
    return UUID(hex=match.group(1)) if match else None


def _private(event: Json) -> dict[str, str]:
    return cast(dict[str, str], (event.get("extendedProperties") or {}).get("private") or {})


def _is_ours(event: Json) -> bool:
    """Ours for writing: our id *and* our private property (we never touch anything else)."""
    return block_id_of(event) is not None and _private(event).get(_PRIVATE_MARK[0]) == _PRIVATE_MARK[1]


def rfc3339(moment: datetime) -> str:
    """A UTC moment in whole seconds, as Google keeps times (`2024-05-01T10:00:00Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _moment(when: Json) -> datetime:
    """An event's start or end in UTC; an all-day date is its midnight in UTC."""
    if when.get("dateTime"):
        return datetime.fromisoformat(str(when["dateTime"])).astimezone(UTC)
    return datetime.combine(date.fromisoformat(str(when["date"])), time(), UTC)


def _parse_private_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value).astimezone(UTC) if value else None
    except ValueError:
        return None


def _reason(exc: Any) -> str:
    try:
        return str(json.loads(exc.content)["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _status(exc: Any) -> int:
    return int(exc.resp.status)


class _Session:
    """One user's service object and the retrying executor of its requests."""

    def __init__(
        self,
        user_id: str,
        service: Any,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
    ) -> None:
        self.user_id, self.service = user_id, service
        self._retry, self._sleep, self._rng = retry, sleep, rng
        # A caller cancelled while its call runs in a worker thread (a shutdown, a timeout) leaves that
        # thread running: closing the service under it would leave the connection it is about to keep
        # open for ever (an unclosed socket). The last call out closes it instead.
        self._guard = threading.Lock()
        self._running = 0
        self._closed = False

    async def call(self, make: Callable[[Any], Any]) -> Json:
        """Build the request with `make(events_resource)` and execute it, retrying what is transient."""
        failed = 0
        while True:
            try:
                return await asyncio.to_thread(self._execute, make)
            except Exception as exc:
                failed += 1
                self._raise_unless_retryable(exc, failed)
                error = _describe(exc)
            delay = self._retry.delay(failed, self._rng)
            _log.warning(
                "google calendar call failed; retrying",
                extra={"user_id": self.user_id, "attempt": failed, "delay": round(delay, 3), "error": error},
            )
            await self._sleep(delay)

    def _execute(self, make: Callable[[Any], Any]) -> Json:
        self._enter()
        try:
            return cast(Json, make(self.service.events()).execute() or {})
        finally:
            self._leave()

    def _enter(self) -> None:
        with self._guard:
            if self._closed:
                raise asyncio.CancelledError  # the session ended before this thread started
            self._running += 1

    def _leave(self) -> None:
        with self._guard:
            self._running -= 1
            last_out = self._closed and self._running == 0
        if last_out:
            self.service.close()

    def close(self) -> None:
        """Close the connections now, or once the call still running in a worker thread ends."""
        with self._guard:
            self._closed = True
            idle = self._running == 0
        if idle:
            self.service.close()

    def _raise_unless_retryable(self, exc: Exception, failed: int) -> None:
        if isinstance(exc, HttpError):
            self._raise_unless_retryable_status(exc)
        elif isinstance(exc, RefreshError):
            if not exc.retryable:
                raise CalendarAuthorizationError(self.user_id) from None
        elif not isinstance(exc, _TRANSPORT_ERRORS):
            raise exc
        if failed >= self._retry.attempts:
            message = f"Google Calendar kept failing for user {self.user_id!r} ({_describe(exc)})"
            raise CalendarUnavailableError(message, details={"attempts": failed}) from None

    def _raise_unless_retryable_status(self, exc: Any) -> None:
        status, reason = _status(exc), _reason(exc)
        if status == 401:  # google-auth refreshed and retried already: the grant no longer works
            raise CalendarAuthorizationError(self.user_id) from None
        if status == 403 and reason in _QUOTA_REASONS:
            message = f"Google Calendar usage limits exceeded for user {self.user_id!r}; pause their sync."
            raise CalendarQuotaExceeded(self.user_id, message) from exc
        if not (status == 429 or status >= 500 or (status == 403 and reason in _RATE_REASONS)):
            raise exc

    async def list_all(self, **params: Any) -> tuple[list[Json], str | None]:
        """Every page of events.list; returns the items and the last page's nextSyncToken."""
        items: list[Json] = []
        page_token: str | None = None
        while True:
            query = {**params, **({"pageToken": page_token} if page_token else {})}
            page = await self.call(_list_request(query))
            items.extend(page.get("items", []))
            page_token = page.get("nextPageToken")
            if not page_token:
                return items, page.get("nextSyncToken")


def _list_request(query: Json) -> Callable[[Any], Any]:
    def make(events: Any) -> Any:
        return events.list(**query)

    return make


def _describe(exc: BaseException) -> str:
    """What went wrong, without any of the answer's text (which might echo a token)."""
    if isinstance(exc, HttpError):
        return f"HTTP {_status(exc)} {_reason(exc)}".strip()
    return type(exc).__name__


def _event_body(block: CalendarBlock) -> Json:
    start, end = rfc3339(block.start), rfc3339(block.end)
    return {
        "summary": block.title,
        "description": block.description,
        "start": {"dateTime": start},
        "end": {"dateTime": end},
        "extendedProperties": {
            "private": {
                "pma": "1", "pma_block_id": str(block.block_id), "pma_task_id": str(block.task_id),
                "pma_start": start, "pma_end": end,
            }
        },
    }  # fmt: skip


def _differs(event: Json, block: CalendarBlock) -> bool:
    private = _private(event)
    wanted = _event_body(block)["extendedProperties"]["private"]
    return (
        _moment(event["start"]) != _seconds(block.start)
        or _moment(event["end"]) != _seconds(block.end)
        or event.get("summary", "") != block.title
        or event.get("description", "") != block.description
        or any(private.get(key) != value for key, value in wanted.items())
    )


def _declined(event: Json) -> bool:
    return any(a.get("self") and a.get("responseStatus") == "declined" for a in event.get("attendees", []))


def _counts_as_busy(event: Json) -> bool:
    ours = block_id_of(event) is not None or _private(event).get(_PRIVATE_MARK[0]) == _PRIVATE_MARK[1]
    free = event.get("status") == "cancelled" or event.get("transparency") == "transparent"
    return not (ours or free or _declined(event))


def _clipped(event: Json, window: Interval) -> Interval | None:
    start, end = max(_moment(event["start"]), window.start), min(_moment(event["end"]), window.end)
    return Interval(start, end) if start < end else None


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: (i.start, i.end)):
        if merged and interval.start <= merged[-1].end:
            last = merged.pop()
            interval = Interval(last.start, max(last.end, interval.end))
        merged.append(interval)
    return merged


def _change(event: Json) -> CalendarChange | None:
    """What the user did to one of our events, from its entry in the feed (None: nothing for us)."""
    block_id = block_id_of(event)
    if block_id is None:
        return None
    if event.get("status") == "cancelled":
        return CalendarChange(block_id, "deleted")
    if not _is_ours(event):
        return None
    start, end = _moment(event["start"]), _moment(event["end"])
    private = _private(event)
    written = (_parse_private_time(private.get("pma_start")), _parse_private_time(private.get("pma_end")))
    if written == (start, end):
        return None
    return CalendarChange(block_id, "moved", start=start, end=end)


class GoogleCalendar:
    """`CalendarBackend` on Google Calendar API v3 for many users, one calendar (`calendar_id`) written."""

    def __init__(
        self,
        credentials_for: CredentialsFor,
        *,
        api_endpoint: str | None = None,
        calendar_id: str = "primary",
        retry: RetryPolicy | None = None,
        timeout_seconds: float = 30.0,
        page_size: int = 250,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        """`api_endpoint`: the API root (None: Google's); `sleep` and `rng` drive the backoff (tests)."""
        self._credentials_for = credentials_for
        self._api_endpoint = api_endpoint
        self.calendar_id = calendar_id
        self._retry = retry or RetryPolicy()
        self._timeout = timeout_seconds
        self._page_size = page_size
        self._sleep = sleep
        self._rng = rng or random.Random()

    @asynccontextmanager
    async def _session(self, user_id: str) -> AsyncIterator[_Session]:
        credentials = await self._credentials_for(user_id)
        service = await asyncio.to_thread(self._build, credentials)
        session = _Session(user_id, service, self._retry, self._sleep, self._rng)
        try:
            yield session
        except HttpError as exc:
            raise CalendarRequestError(f"Google Calendar refused a request: {_describe(exc)}") from exc
        finally:
            session.close()

    def _build(self, credentials: Credentials) -> Any:
        authorized = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=self._timeout))
        options = {"api_endpoint": self._api_endpoint} if self._api_endpoint else None
        return build(
            "calendar", "v3", http=authorized, static_discovery=True, cache_discovery=False, client_options=options
        )

    # sync

    async def sync(self, user_id: str, blocks: Sequence[CalendarBlock], window: Interval) -> SyncResult:
        async with self._session(user_id) as session:
            current = await self._ours_in(session, window)
            wanted = {event_id(block.block_id): block for block in blocks}
            tally: Counter[Outcome] = Counter()
            for eid, block in wanted.items():
                tally[await self._put(session, block, current.get(eid))] += 1
            for eid in current.keys() - wanted.keys():
                tally[await self._remove(session, eid)] += 1
        return SyncResult(
            created=tally["created"], updated=tally["updated"], deleted=tally["deleted"], unchanged=tally["unchanged"]
        )

    async def _ours_in(self, session: _Session, window: Interval) -> dict[str, Json]:
        items, _ = await session.list_all(
            calendarId=self.calendar_id, privateExtendedProperty="=".join(_PRIVATE_MARK), showDeleted=False,
            singleEvents=True, timeMin=rfc3339(window.start), timeMax=rfc3339(window.end),
            maxResults=self._page_size,
        )  # fmt: skip
        return {event["id"]: event for event in items if _is_ours(event)}

    async def _put(self, session: _Session, block: CalendarBlock, event: Json | None) -> Outcome:
        if event is None:
            return await self._create(session, block)
        if not _differs(event, block):
            return "unchanged"
        await self._patch(session, block)
        return "updated"

    async def _patch(self, session: _Session, block: CalendarBlock) -> None:
        body, eid = _event_body(block), event_id(block.block_id)
        await session.call(lambda events: events.patch(calendarId=self.calendar_id, eventId=eid, body=body))

    async def _create(self, session: _Session, block: CalendarBlock) -> Outcome:
        body = {**_event_body(block), "id": event_id(block.block_id)}
        try:
            await session.call(lambda events: events.insert(calendarId=self.calendar_id, body=body))
        except HttpError as exc:
            if _status(exc) != 409:
                raise
            return await self._resolve_conflict(session, block)
        return "created"

    async def _resolve_conflict(self, session: _Session, block: CalendarBlock) -> Outcome:
        """The id exists: Google keeps a cancelled event (restore it), or an earlier try got through."""
        eid = event_id(block.block_id)
        event = await session.call(lambda events: events.get(calendarId=self.calendar_id, eventId=eid))
        if event.get("status") == "cancelled":
            body = {**_event_body(block), "id": eid, "status": "confirmed"}
            await session.call(lambda events: events.update(calendarId=self.calendar_id, eventId=eid, body=body))
            return "created"
        if not _is_ours(event):
            _log.warning("an event not ours holds our id; left alone", extra={"event_id": eid})
            return "unchanged"
        return await self._put(session, block, event)

    async def _remove(self, session: _Session, eid: str) -> Outcome:
        try:
            await session.call(lambda events: events.delete(calendarId=self.calendar_id, eventId=eid))
        except HttpError as exc:
            if _status(exc) in (404, 410):  # gone already
                return "unchanged"
            raise
        return "deleted"

    # busy

    async def busy(self, user_id: str, window: Interval, calendars: Sequence[str]) -> list[Interval]:
        """Busy time in `window`, merged; all-day events are busy for their whole day in UTC."""
        intervals: list[Interval] = []
        async with self._session(user_id) as session:
            for calendar_id in calendars:
                intervals.extend(await self._busy_in(session, calendar_id, window))
        return _merged(intervals)

    async def _busy_in(self, session: _Session, calendar_id: str, window: Interval) -> list[Interval]:
        try:
            items, _ = await session.list_all(
                calendarId=calendar_id, singleEvents=True, showDeleted=False, orderBy="startTime",
                timeMin=rfc3339(window.start), timeMax=rfc3339(window.end), maxResults=self._page_size,
            )  # fmt: skip
        except HttpError as exc:
            if _status(exc) != 404:
                raise
            _log.warning(
                "busy calendar not found; skipped", extra={"user_id": session.user_id, "calendar": calendar_id}
            )
            return []
        return [interval for e in items if _counts_as_busy(e) and (interval := _clipped(e, window))]

    # changes

    async def changes(self, user_id: str, cursor: str | None) -> ChangeBatch:
        """Moves and deletions of our events since `cursor` (Google's sync token).

        `cursor` None: a full read to get a token, reporting nothing. A stale token (410): a full read,
        `full_resync=True`, reporting every event of ours that is cancelled or not where `sync` put it.
        "deleted" also covers deletions `sync` made itself: the caller ignores blocks it no longer has.
        """
        async with self._session(user_id) as session:
            if cursor is None:
                _, token = await self._read(session, None)
                return ChangeBatch(changes=(), cursor=token)
            try:
                items, token = await self._read(session, cursor)
                full = False
            except HttpError as exc:
                if _status(exc) != 410:
                    raise
                _log.info("google sync token is stale; reading everything", extra={"user_id": user_id})
                items, token = await self._read(session, None)
                full = True
        found = tuple(change for event in items if (change := _change(event)))
        return ChangeBatch(changes=found, cursor=token, full_resync=full)

    async def _read(self, session: _Session, sync_token: str | None) -> tuple[list[Json], str | None]:
        # The same parameters for the full and the incremental reads, as Google asks; none it forbids.
        params: Json = {"calendarId": self.calendar_id, "showDeleted": True, "maxResults": self._page_size}
        if sync_token is not None:
            params["syncToken"] = sync_token
        return await session.list_all(**params)
