"""A loopback fake of Google Calendar API v3 (events) and of Google's OAuth 2.0 token endpoint.

It runs a real HTTP server (FastAPI under uvicorn, in a background thread, on a free 127.0.0.1 port), so
tests drive the real `googleapiclient` (static discovery, `client_options={"api_endpoint": fake.url}`) and
the real `google-auth` refresh flow (`Credentials(token_uri=fake.token_url, ...)`). It answers in Google's
wire format and fails the way Google fails: every error is `{"error": {"errors": [{"domain", "reason",
"message"}], "code", "message"}}` (401s also carry `"status": "UNAUTHENTICATED"`).

What it implements, per user (one store per refresh-token owner; calendars "primary", its alias the user's
email, and any added with `add_calendar`):

- events insert (client ids: base32hex `[a-v0-9]{5,1024}`; an id that exists, even cancelled -> 409),
  get, patch (merge; `null` removes a key), update (replace), delete (-> status "cancelled", kept; again ->
  410 "deleted"); `etag`, `updated`, `sequence` (bumped when the times change), `transparency` (omitted
  when opaque, as Google does), `extendedProperties`, `start`/`end` as `dateTime` (+ `timeZone`) or `date`.
- list: `timeMin`/`timeMax` (an event overlaps: it ends after timeMin and starts before timeMax),
  `showDeleted`, `singleEvents`, `orderBy`, `privateExtendedProperty`/`sharedExtendedProperty` (repeatable,
  all must match), `q`, `iCalUID`, `updatedMin`, `maxResults` (default 250, at most 2500) + `pageToken`;
  `nextSyncToken` on the last page; `syncToken` reads only what changed since (cancelled events as
  `{kind, etag, id, status}`), 400 with the parameters Google forbids beside it, 410 "fullSyncRequired"
  once invalidated (`invalidate_sync_tokens`) or unknown. Recurring events are not modelled.
- the token endpoint: `refresh_token` and `authorization_code` (+ PKCE S256) grants; a revoked or unknown
  refresh token -> 400 `invalid_grant` "Token has been expired or revoked.".

Faults (`inject`): the next calls (optionally of one method, after skipping some) answer 429/403/5xx in
Google's shape, a 401, answer late ("slow"), or have their connection closed before (or after) the change is
applied. Note that
httplib2 silently resends a request once when the server closes the connection without answering, so one
dropped connection is invisible to googleapiclient: inject `times=2` to make a call fail.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any, Literal
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp

from pma_core.testing.threaded_server import DroppedConnection, LoopbackFake

Json = dict[str, Any]
Method = Literal["insert", "get", "patch", "update", "delete", "list", "token"]
Fault = Literal[
    "rate_limit_429",  # 429 rateLimitExceeded
    "rate_limit_403",  # 403 rateLimitExceeded
    "user_rate_limit_403",  # 403 userRateLimitExceeded
    "quota_exceeded_403",  # 403 quotaExceeded ("Calendar usage limits exceeded.")
    "backend_500",  # 500 backendError
    "backend_503",  # 503 backendError
    "unauthorized_401",  # 401 authError, as for an access token Google no longer accepts
    "drop_connection",  # the connection is closed before the call is applied, with no answer
    "drop_after_apply",  # the call is applied, then the connection is closed with no answer
    "slow",  # the call is applied after SLOW_SECONDS, as a stalled Google answers
]
SLOW_SECONDS = 0.5
API_METHODS: tuple[Method, ...] = ("insert", "get", "patch", "update", "delete", "list")
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
DEFAULT_CLIENT_ID = "fake-client-id.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "fake-client-secret"
MAX_RESULTS_DEFAULT, MAX_RESULTS_LIMIT = 250, 2500

_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
# Parameters Google refuses beside syncToken (the events.list reference).
_NOT_WITH_SYNC_TOKEN = (
    "iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin", "timeMax",
    "updatedMin",
)  # fmt: skip
_READ_ONLY = ("kind", "etag", "created", "updated", "htmlLink", "creator", "organizer")
_FAULT_ERRORS: dict[str, tuple[int, str, str, str]] = {
    "rate_limit_429": (429, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    "rate_limit_403": (403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    "user_rate_limit_403": (403, "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded"),
    "quota_exceeded_403": (403, "usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
    "backend_500": (500, "global", "backendError", "Backend Error"),
    "backend_503": (503, "global", "backendError", "Backend Error"),
}
_AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class GoogleApiError(Exception):
    """An error answer in Google's JSON shape; `reason` is what clients read from `errors[0].reason`."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        item: Mapping[str, Any] | None = None,
        api_status: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain
        self.item = dict(item or {})
        self.api_status = api_status
        self.headers = dict(headers or {})

    def body(self) -> Json:
        first = {"domain": self.domain, "reason": self.reason, "message": self.message, **self.item}
        error: Json = {"errors": [first], "code": self.status, "message": self.message}
        if self.api_status:
            error["status"] = self.api_status
        return {"error": error}


def _invalid(message: str, reason: str = "invalid") -> GoogleApiError:
    return GoogleApiError(400, reason, message)


def _not_found() -> GoogleApiError:
    return GoogleApiError(404, "notFound", "Not Found")


def _unauthenticated(*, missing: bool) -> GoogleApiError:
    if missing:
        message, reason, item_message = f"Request is missing required authentication credential. {_AUTH_HELP}", "required", "Login Required."  # fmt: skip  # noqa: E501
    else:
        message, reason, item_message = f"Request had invalid authentication credentials. {_AUTH_HELP}", "authError", "Invalid Credentials"  # fmt: skip  # noqa: E501
    item = {"message": item_message, "location": "Authorization", "locationType": "header"}
    header = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    return GoogleApiError(
        401, reason, message, item=item, api_status="UNAUTHENTICATED", headers={"WWW-Authenticate": header}
    )


def _fault_error(fault: str) -> GoogleApiError:
    if fault == "unauthorized_401":
        return _unauthenticated(missing=False)
    status, domain, reason, message = _FAULT_ERRORS[fault]
    return GoogleApiError(status, reason, message, domain=domain)


# --- time ------------------------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    """`2024-05-01T10:00:00Z`: a UTC moment as Google's list parameters want it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _updated_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _zone(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _render_moment(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    if zone.key in ("UTC", "Etc/UTC"):
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{offset[:3]}:{offset[3:]}"


def _query_moment(params: QueryParams, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    moment = _parse_moment(raw)
    if moment is None or moment.tzinfo is None:
        raise GoogleApiError(400, "badRequest", "Bad Request")
    return moment


@dataclass(frozen=True, slots=True)
class _Times:
    start: datetime  # UTC
    end: datetime
    all_day: bool


def _when(value: Any, which: str, calendar_zone: ZoneInfo) -> tuple[datetime, bool]:
    """A start or end as a UTC moment (whole seconds, as Google keeps them) and whether it is a date."""
    if not isinstance(value, dict) or not (value.get("dateTime") or value.get("date")):
        raise _invalid(f"Missing {which} time.", "required")
    if not value.get("dateTime"):
        try:
            day = date.fromisoformat(str(value["date"]))
        except ValueError:
            raise _invalid(f"Invalid {which} time.") from None
        return datetime.combine(day, clock_time(), calendar_zone).astimezone(UTC), True
    moment = _parse_moment(value["dateTime"])
    if moment is None:
        raise _invalid(f"Invalid {which} time.")
    zone = _zone(value.get("timeZone"))
    if value.get("timeZone") and zone is None:
        raise _invalid(f"Invalid time zone definition for {which} time.")
    if moment.tzinfo is None:
        if zone is None:
            raise _invalid(f"Missing time zone definition for {which} time.", "required")
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(microsecond=0), False


def _times(data: Mapping[str, Any], calendar_zone: ZoneInfo) -> _Times:
    start, start_is_date = _when(data.get("start"), "start", calendar_zone)
    end, end_is_date = _when(data.get("end"), "end", calendar_zone)
    if start_is_date != end_is_date:
        raise _invalid("Invalid start time.")
    if end < start or (start_is_date and end == start):
        raise GoogleApiError(400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar")
    return _Times(start, end, start_is_date)


# --- the store -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Event:
    data: Json  # as stored: what the client wrote plus the server's fields
    times: _Times
    changed: int  # the calendar's change counter at its last change


@dataclass(slots=True)
class _Calendar:
    id: str
    zone: ZoneInfo
    summary: str
    events: dict[str, _Event] = field(default_factory=dict)
    clock: int = 0  # bumped by every change; sync tokens remember it
    generation: int = 0  # bumped to invalidate every sync token of the calendar
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(slots=True)
class _User:
    email: str
    calendars: dict[str, _Calendar]


@dataclass(frozen=True, slots=True)
class _SyncPoint:
    user: str
    calendar_id: str
    generation: int
    clock: int


@dataclass(slots=True)
class _Page:
    user: str
    calendar_id: str
    items: list[Json]
    end: _SyncPoint  # the sync token the last page hands out


@dataclass(frozen=True, slots=True)
class _ListQuery:
    time_min: datetime | None
    time_max: datetime | None
    show_deleted: bool
    single_events: bool
    private: tuple[tuple[str, str], ...]
    shared: tuple[tuple[str, str], ...]
    text: str | None
    ical_uid: str | None
    updated_min: datetime | None
    order_by: str | None
    max_results: int
    page_token: str | None
    sync_token: str | None


def _flag(params: QueryParams, name: str) -> bool:
    raw = params.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise _invalid(f"Invalid boolean value: '{raw}'.")
    return raw == "true"


def _properties(params: QueryParams, name: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for raw in params.getlist(name):
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise _invalid(f"Invalid {name} value: '{raw}'.")
        pairs.append((key, value))
    return tuple(pairs)


def _max_results(params: QueryParams) -> int:
    raw = params.get("maxResults")
    if raw is None:
        return MAX_RESULTS_DEFAULT
    if not raw.isdigit() or int(raw) < 1:
        raise _invalid(f"Invalid value '{raw}'. Values must be within the range: [1, {MAX_RESULTS_LIMIT}]")
    return min(int(raw), MAX_RESULTS_LIMIT)


def _list_query(params: QueryParams) -> _ListQuery:
    if params.get("syncToken") is not None:
        for name in _NOT_WITH_SYNC_TOKEN:
            if name in params:
                raise _invalid(f"The parameter {name} cannot be used together with syncToken.")
    query = _ListQuery(
        time_min=_query_moment(params, "timeMin"), time_max=_query_moment(params, "timeMax"),
        show_deleted=_flag(params, "showDeleted"), single_events=_flag(params, "singleEvents"),
        private=_properties(params, "privateExtendedProperty"),
        shared=_properties(params, "sharedExtendedProperty"), text=params.get("q"),
        ical_uid=params.get("iCalUID"), updated_min=_query_moment(params, "updatedMin"),
        order_by=params.get("orderBy"), max_results=_max_results(params),
        page_token=params.get("pageToken"), sync_token=params.get("syncToken"),
    )  # fmt: skip
    _check_order(query)
    if query.time_min and query.time_max and query.time_max <= query.time_min:
        raise GoogleApiError(400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar")
    return query


def _check_order(query: _ListQuery) -> None:
    if query.order_by not in (None, "startTime", "updated"):
        raise _invalid(f"Invalid value for orderBy: '{query.order_by}'.")
    if query.order_by == "startTime" and not query.single_events:
        raise _invalid("The requested ordering is not available for the particular query.")


def _has_properties(event: _Event, kind: str, wanted: Sequence[tuple[str, str]]) -> bool:
    have = (event.data.get("extendedProperties") or {}).get(kind) or {}
    return all(have.get(key) == value for key, value in wanted)


def _matches(event: _Event, query: _ListQuery) -> bool:
    data, times = event.data, event.times
    checks = (
        query.show_deleted or data["status"] != "cancelled",
        query.time_min is None or times.end > query.time_min,
        query.time_max is None or times.start < query.time_max,
        _has_properties(event, "private", query.private),
        _has_properties(event, "shared", query.shared),
        query.ical_uid is None or data.get("iCalUID") == query.ical_uid,
        query.updated_min is None or datetime.fromisoformat(data["updated"]) >= query.updated_min,
        not query.text or query.text.lower() in f"{data.get('summary', '')} {data.get('description', '')}".lower(),
    )
    return all(checks)


def _merge(target: Mapping[str, Any], patch: Mapping[str, Any]) -> Json:
    """Google's patch semantics: given fields replace, nested objects merge, `null` removes."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            base = merged[key]
            if key in ("start", "end") and ("date" in value or "dateTime" in value):
                base = {k: v for k, v in base.items() if k not in ("date", "dateTime")}
            merged[key] = _merge(base, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _writable(body: Mapping[str, Any]) -> Json:
    return {key: copy.deepcopy(value) for key, value in body.items() if key not in _READ_ONLY}


def _check_fields(data: Mapping[str, Any]) -> None:
    if data.get("status", "confirmed") not in ("confirmed", "tentative", "cancelled"):
        raise _invalid("Invalid value for: status")
    if data.get("transparency", "opaque") not in ("opaque", "transparent"):
        raise _invalid("Invalid value for: transparency")


class _Store:
    """Every user's calendars and events, and the sync tokens and pages handed out; not thread-safe."""

    def __init__(self) -> None:
        self.users: dict[str, _User] = {}
        self.sync_points: dict[str, _SyncPoint] = {}
        self.pages: dict[str, _Page] = {}
        self._etags = itertools.count(3_181_161_784_712_000)

    def add_user(self, email: str) -> _User:
        if email not in self.users:
            primary = _Calendar("primary", ZoneInfo("UTC"), email)
            self.users[email] = _User(email, {"primary": primary})
        return self.users[email]

    def add_calendar(self, email: str, calendar_id: str, time_zone: str) -> None:
        self.add_user(email).calendars[calendar_id] = _Calendar(calendar_id, ZoneInfo(time_zone), calendar_id)

    def calendar(self, email: str, calendar_id: str) -> _Calendar:
        user = self.users.get(email)
        key = "primary" if calendar_id == email else calendar_id
        if user is None or key not in user.calendars:
            raise _not_found()
        return user.calendars[key]

    def event(self, calendar: _Calendar, event_id: str) -> _Event:
        if event_id not in calendar.events:
            raise _not_found()
        return calendar.events[event_id]

    def render(self, calendar: _Calendar, event: _Event, *, minimal: bool = False) -> Json:
        data = event.data
        if minimal and data["status"] == "cancelled":
            return {"kind": "calendar#event", "etag": data["etag"], "id": data["id"], "status": "cancelled"}
        out = copy.deepcopy(data)
        out["start"] = self._render_when(data["start"], event.times.start, event.times.all_day, calendar)
        out["end"] = self._render_when(data["end"], event.times.end, event.times.all_day, calendar)
        if out.get("transparency") == "opaque":
            del out["transparency"]  # Google leaves the default out
        return out

    @staticmethod
    def _render_when(given: Mapping[str, Any], moment: datetime, all_day: bool, calendar: _Calendar) -> Json:
        if all_day:
            return {"date": str(given["date"])}
        zone = _zone(given.get("timeZone"))
        out: Json = {"dateTime": _render_moment(moment, zone or calendar.zone)}
        if zone is not None:
            out["timeZone"] = zone.key
        return out

    def commit(self, calendar: _Calendar, data: Json, times: _Times) -> _Event:
        now = datetime.now(UTC)
        calendar.clock += 1
        calendar.updated = now
        data["updated"] = _updated_stamp(now)
        data["etag"] = f'"{next(self._etags)}"'
        event = _Event(data, times, calendar.clock)
        calendar.events[data["id"]] = event
        return event

    def insert(self, email: str, calendar_id: str, body: Mapping[str, Any]) -> Json:
        calendar = self.calendar(email, calendar_id)
        event_id = body.get("id") or secrets.token_hex(13)
        if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
            raise _invalid("Invalid resource id value.")
        if event_id in calendar.events:  # cancelled ones too: Google keeps them
            raise GoogleApiError(409, "duplicate", "The requested identifier already exists.")
        data = _writable(body)
        _check_fields(data)
        times = _times(data, calendar.zone)
        now = _updated_stamp(datetime.now(UTC))
        host = "calendar.google.com" if calendar.id == "primary" else "google.com"
        data.update(
            kind="calendar#event", id=event_id, status=data.get("status", "confirmed"), created=now,
            sequence=int(data.get("sequence", 0)), iCalUID=data.get("iCalUID") or f"{event_id}@google.com",
            htmlLink=f"https://www.google.com/calendar/event?eid={event_id}&host={host}",
            creator={"email": email, "self": True}, organizer={"email": email, "self": True},
        )  # fmt: skip
        data.setdefault("reminders", {"useDefault": True})
        data.setdefault("eventType", "default")
        return self.render(calendar, self.commit(calendar, data, times))

    def get(self, email: str, calendar_id: str, event_id: str) -> Json:
        calendar = self.calendar(email, calendar_id)
        return self.render(calendar, self.event(calendar, event_id))

    def patch(self, email: str, calendar_id: str, event_id: str, body: Mapping[str, Any]) -> Json:
        calendar = self.calendar(email, calendar_id)
        current = self.event(calendar, event_id)
        return self._rewrite(calendar, current, _merge(current.data, _writable(body)), body)

    def update(self, email: str, calendar_id: str, event_id: str, body: Mapping[str, Any]) -> Json:
        calendar = self.calendar(email, calendar_id)
        current = self.event(calendar, event_id)
        kept = {k: current.data[k] for k in ("kind", "id", "created", "iCalUID", "htmlLink", "creator", "organizer")}
        data = {**_writable(body), **kept}
        data.setdefault("status", current.data["status"])
        data.setdefault("eventType", "default")
        return self._rewrite(calendar, current, data, body)

    def _rewrite(self, calendar: _Calendar, current: _Event, data: Json, body: Mapping[str, Any]) -> Json:
        _check_fields(data)
        times = _times(data, calendar.zone)
        sequence = int(body.get("sequence", current.data["sequence"]))
        if sequence < current.data["sequence"]:
            raise _invalid(
                "Invalid sequence value. The specified sequence number is below the current sequence number "
                "of the resource."
            )
        if times != current.times and sequence == current.data["sequence"]:
            sequence += 1
        data["id"], data["sequence"] = current.data["id"], sequence
        return self.render(calendar, self.commit(calendar, data, times))

    def delete(self, email: str, calendar_id: str, event_id: str) -> None:
        calendar = self.calendar(email, calendar_id)
        current = self.event(calendar, event_id)
        if current.data["status"] == "cancelled":
            raise GoogleApiError(410, "deleted", "Resource has been deleted")
        self.commit(calendar, {**current.data, "status": "cancelled"}, current.times)

    def list_events(self, email: str, calendar_id: str, params: QueryParams) -> Json:
        calendar = self.calendar(email, calendar_id)
        query = _list_query(params)
        if query.page_token is not None:
            page = self.pages.pop(query.page_token, None)
            if page is None or (page.user, page.calendar_id) != (email, calendar.id):
                raise _invalid("Invalid page token value.")
            return self._emit(calendar, page, query.max_results)
        if query.sync_token is not None:
            items = self._incremental(email, calendar, query.sync_token)
        else:
            items = self._full(calendar, query)
        end = _SyncPoint(email, calendar.id, calendar.generation, calendar.clock)
        return self._emit(calendar, _Page(email, calendar.id, items, end), query.max_results)

    def _full(self, calendar: _Calendar, query: _ListQuery) -> list[Json]:
        events = [event for event in calendar.events.values() if _matches(event, query)]
        if query.order_by == "startTime":
            events.sort(key=lambda event: (event.times.start, event.data["id"]))
        elif query.order_by == "updated":
            events.sort(key=lambda event: event.changed)
        return [self.render(calendar, event, minimal=True) for event in events]

    def _incremental(self, email: str, calendar: _Calendar, token: str) -> list[Json]:
        point = self.sync_points.get(token)
        if point is None or point != _SyncPoint(email, calendar.id, calendar.generation, point.clock):
            raise GoogleApiError(
                410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.", domain="calendar"
            )
        changed = sorted((e for e in calendar.events.values() if e.changed > point.clock), key=lambda e: e.changed)
        return [self.render(calendar, event, minimal=True) for event in changed]

    def _emit(self, calendar: _Calendar, page: _Page, max_results: int) -> Json:
        items, rest = page.items[:max_results], page.items[max_results:]
        body: Json = {
            "kind": "calendar#events", "etag": f'"{next(self._etags)}"', "summary": calendar.summary,
            "description": "", "updated": _updated_stamp(calendar.updated), "timeZone": calendar.zone.key,
            "accessRole": "owner", "defaultReminders": [{"method": "popup", "minutes": 10}], "items": items,
        }  # fmt: skip
        if rest:
            token = secrets.token_urlsafe(18)
            self.pages[token] = _Page(page.user, page.calendar_id, rest, page.end)
            body["nextPageToken"] = token
        else:
            token = secrets.token_urlsafe(18)
            self.sync_points[token] = page.end
            body["nextSyncToken"] = token
        return body


# --- OAuth -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Grant:
    user: str
    client_id: str
    scope: str
    revoked: bool = False


@dataclass(slots=True)
class _AccessToken:
    user: str
    refresh_token: str
    expires_at: float  # time.time()


@dataclass(frozen=True, slots=True)
class _Code:
    user: str
    client_id: str
    redirect_uri: str | None
    challenge: str | None
    method: str


def _oauth_error(status: int, error: str, description: str) -> tuple[int, Json]:
    return status, {"error": error, "error_description": description}


def _pkce_ok(code: _Code, verifier: str | None) -> bool:
    if code.challenge is None:
        return True
    if not verifier:
        return False
    if code.method == "plain":
        return secrets.compare_digest(verifier, code.challenge)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return secrets.compare_digest(digest, code.challenge)


class _OAuth:
    """Clients, refresh tokens (grants), access tokens and authorization codes; not thread-safe."""

    def __init__(self, clients: Mapping[str, str], lifetime: int) -> None:
        self.clients = dict(clients)
        self.lifetime = lifetime
        self.grants: dict[str, _Grant] = {}
        self.access: dict[str, _AccessToken] = {}
        self.codes: dict[str, _Code] = {}

    def issue_refresh_token(self, user: str, client_id: str, scope: str = CALENDAR_SCOPE) -> str:
        token = "1//fake-" + secrets.token_urlsafe(32)
        self.grants[token] = _Grant(user, client_id, scope)
        return token

    def user_of(self, authorization: str | None) -> str:
        if not authorization:
            raise _unauthenticated(missing=True)
        scheme, _, token = authorization.partition(" ")
        access = self.access.get(token.strip()) if scheme.lower() == "bearer" else None
        if access is None or access.expires_at <= time.time() or self.grants[access.refresh_token].revoked:
            raise _unauthenticated(missing=False)
        return access.user

    def grant(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> tuple[int, Json]:
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id not in self.clients:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if not secrets.compare_digest(self.clients[client_id], secret):
            return _oauth_error(401, "invalid_client", "Unauthorized")
        kind = form.get("grant_type")
        if kind == "refresh_token":
            return self._refresh(client_id, form)
        if kind == "authorization_code":
            return self._exchange(client_id, form)
        return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {kind or ''}")

    def _refresh(self, client_id: str, form: Mapping[str, str]) -> tuple[int, Json]:
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            return _oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
        grant = self.grants.get(refresh_token)
        if grant is None or grant.revoked or grant.client_id != client_id:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        return 200, self._access_token(refresh_token, grant)

    def _exchange(self, client_id: str, form: Mapping[str, str]) -> tuple[int, Json]:
        code = self.codes.pop(form.get("code", ""), None)  # single use
        if code is None or code.client_id != client_id:
            return _oauth_error(400, "invalid_grant", "Bad Request")
        if code.redirect_uri is not None and form.get("redirect_uri") != code.redirect_uri:
            return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        if not _pkce_ok(code, form.get("code_verifier")):
            return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
        refresh_token = self.issue_refresh_token(code.user, client_id)
        body = self._access_token(refresh_token, self.grants[refresh_token])
        return 200, {**body, "refresh_token": refresh_token}

    def _access_token(self, refresh_token: str, grant: _Grant) -> Json:
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        self.access[token] = _AccessToken(grant.user, refresh_token, time.time() + self.lifetime)
        return {"access_token": token, "expires_in": self.lifetime, "scope": grant.scope, "token_type": "Bearer"}


def _form(body: bytes) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return client_id, secret


# --- faults ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _FaultRule:
    fault: Fault
    method: Method | None
    times: int
    skip: int

    def take(self, method: Method) -> bool:
        """Whether this call gets the fault (a rule without a method never hits the token endpoint)."""
        if self.times <= 0 or self.method not in (None, method) or (self.method is None and method == "token"):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        self.times -= 1
        return True


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One call as the fake received it (no headers, so no tokens); `received_at` is `time.monotonic()`."""

    method: Method
    path: str
    query: tuple[tuple[str, str], ...]
    received_at: float


# --- the server ------------------------------------------------------------------------------------


class FakeGoogleCalendar(LoopbackFake):
    """`with FakeGoogleCalendar() as fake:` (or `async with`): Google Calendar v3 and its token endpoint.

    `fake.url` is the `api_endpoint` for googleapiclient, `fake.token_url` the `token_uri` for google-auth.
    Helpers act as the user would in Google Calendar's UI (through the same change tracking as the API).
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        access_token_lifetime: int = 3599,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self._lifetime = access_token_lifetime
        self._lock = threading.Lock()
        self._store = _Store()
        self._oauth = _OAuth({client_id: client_secret}, access_token_lifetime)
        self._faults: list[_FaultRule] = []
        self._calls: Counter[str] = Counter()
        self._recorded: list[RecordedCall] = []

    # lifecycle

    server_name = "fake-google-calendar"

    def app(self) -> ASGIApp:
        return _build_app(self)

    def reset(self) -> None:
        """Forget users, tokens, faults and counters (the fixture calls it between tests)."""
        with self._lock:
            self._store = _Store()
            self._oauth = _OAuth({self.client_id: self.client_secret}, self._lifetime)
            self._faults.clear()
            self._calls.clear()
            self._recorded.clear()

    @property
    def root_url(self) -> str:
        if self._http is None:
            raise RuntimeError("the fake Google Calendar server is not running")
        return f"http://127.0.0.1:{self._http.port}"

    @property
    def url(self) -> str:
        """The API root for `client_options={"api_endpoint": ...}` (Google's rootUrl + servicePath)."""
        return f"{self.root_url}/calendar/v3/"

    @property
    def token_url(self) -> str:
        """The OAuth 2.0 token endpoint (Google's https://oauth2.googleapis.com/token)."""
        return f"{self.root_url}/token"

    # users and tokens

    def add_user(self, user: str = "user@example.com", *, scope: str = CALENDAR_SCOPE) -> str:
        """Create the user (with a "primary" calendar) if new; returns a new refresh token for them."""
        with self._lock:
            self._store.add_user(user)
            return self._oauth.issue_refresh_token(user, self.client_id, scope)

    def add_calendar(self, user: str, calendar_id: str, *, time_zone: str = "UTC") -> None:
        """Give `user` another calendar, e.g. a shared team calendar."""
        with self._lock:
            self._store.add_calendar(user, calendar_id, time_zone)

    def issue_authorization_code(
        self,
        user: str,
        *,
        redirect_uri: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: Literal["S256", "plain"] = "S256",
    ) -> str:
        """A code as Google's consent screen would redirect with (single use)."""
        with self._lock:
            self._store.add_user(user)
            code = "4/fake-" + secrets.token_urlsafe(24)
            self._oauth.codes[code] = _Code(user, self.client_id, redirect_uri, code_challenge, code_challenge_method)
            return code

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """As the user removing the app's access: the token and its access tokens stop working."""
        with self._lock:
            self._oauth.grants[refresh_token].revoked = True

    def expire_access_tokens(self, user: str | None = None) -> None:
        """Every access token (of `user`) expires now: the next call answers 401 and clients refresh."""
        with self._lock:
            for access in self._oauth.access.values():
                if user is None or access.user == user:
                    access.expires_at = 0.0

    def invalidate_sync_tokens(self, user: str | None = None, calendar_id: str | None = None) -> None:
        """Every sync token handed out (for `user`'s `calendar_id`) becomes stale: 410 fullSyncRequired."""
        with self._lock:
            for email, owner in self._store.users.items():
                for key, calendar in owner.calendars.items():
                    if (user is None or user == email) and calendar_id in (None, key):
                        calendar.generation += 1

    # events, as the user would

    def add_event(
        self,
        user: str,
        *,
        summary: str,
        start: datetime | date,
        end: datetime | date,
        calendar_id: str = "primary",
        transparent: bool = False,
        time_zone: str | None = None,
        private: Mapping[str, str] | None = None,
        event_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Json:
        """Create an event as the user would (datetimes aware, or naive in `time_zone`; dates: all-day)."""
        body: Json = {"summary": summary, "start": _when_body(start, time_zone), "end": _when_body(end, time_zone)}
        if transparent:
            body["transparency"] = "transparent"
        if private:
            body["extendedProperties"] = {"private": dict(private)}
        if event_id:
            body["id"] = event_id
        body.update(extra or {})
        with self._lock:
            return self._store.insert(user, calendar_id, body)

    def move_event(
        self, user: str, event_id: str, *, start: datetime | date, end: datetime | date, calendar_id: str = "primary"
    ) -> Json:
        """Drag the event to new times, as the user would."""
        return self.edit_event(user, event_id, {"start": _when_body(start), "end": _when_body(end)}, calendar_id)

    def edit_event(self, user: str, event_id: str, changes: Mapping[str, Any], calendar_id: str = "primary") -> Json:
        """Change any fields (patch semantics), as the user would."""
        with self._lock:
            return self._store.patch(user, calendar_id, event_id, changes)

    def delete_event(self, user: str, event_id: str, calendar_id: str = "primary") -> None:
        """Delete the event, as the user would: it stays, cancelled."""
        with self._lock:
            self._store.delete(user, calendar_id, event_id)

    def get_event(self, user: str, event_id: str, calendar_id: str = "primary") -> Json | None:
        """The event as events.get shows it (cancelled ones too), or None."""
        with self._lock:
            try:
                return self._store.get(user, calendar_id, event_id)
            except GoogleApiError:
                return None

    def events(self, user: str, calendar_id: str = "primary", *, include_cancelled: bool = False) -> list[Json]:
        """The calendar's events, in creation order."""
        with self._lock:
            calendar = self._store.calendar(user, calendar_id)
            return [
                self._store.render(calendar, event)
                for event in calendar.events.values()
                if include_cancelled or event.data["status"] != "cancelled"
            ]

    # faults and counters

    def inject(self, fault: Fault, *, times: int = 1, method: Method | None = None, skip: int = 0) -> None:
        """The next `times` API calls (of `method`, after letting `skip` of them through) get `fault`."""
        if method == "token" and fault != "slow":
            # The token endpoint's own failures are its grants' (revoke_refresh_token).
            raise ValueError("the token endpoint can only be made slow")
        with self._lock:
            self._faults.append(_FaultRule(fault, method, times, skip))

    def pending_faults(self) -> int:
        """Faulty answers injected and not given yet."""
        with self._lock:
            return sum(rule.times for rule in self._faults)

    @property
    def calls(self) -> Counter[str]:
        """Calls received by method ("insert", "get", "patch", "update", "delete", "list", "token")."""
        with self._lock:
            return Counter(self._calls)

    @property
    def recorded(self) -> list[RecordedCall]:
        """Every call received, in order (faulted and refused ones too)."""
        with self._lock:
            return list(self._recorded)

    # serving

    def _record(self, method: Method, request: Request) -> None:
        with self._lock:
            self._calls[method] += 1
            query = tuple(request.query_params.multi_items())
            self._recorded.append(RecordedCall(method, request.url.path, query, time.monotonic()))

    def _take_fault(self, method: Method) -> Fault | None:
        with self._lock:
            rule = next((rule for rule in self._faults if rule.take(method)), None)
            self._faults = [rule for rule in self._faults if rule.times > 0]
            return rule.fault if rule else None

    async def serve_api(self, method: Method, request: Request) -> Response:
        self._record(method, request)
        fault: Fault | None = None
        try:
            with self._lock:
                user = self._oauth.user_of(request.headers.get("authorization"))
            fault = self._take_fault(method)
            if fault == "drop_connection":
                # The whole request is read first: closing while the client still sends makes the reset
                # land in its send (not retried by httplib2) or its read (retried) by timing alone.
                await request.body()
                return DroppedConnection()
            if fault == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            elif fault is not None and fault != "drop_after_apply":
                raise _fault_error(fault)
            body = await _json_body(request) if method in ("insert", "patch", "update") else {}
            with self._lock:
                payload = self._dispatch(method, user, request, body)
        except GoogleApiError as exc:
            return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
        if fault == "drop_after_apply":
            return DroppedConnection()
        return Response(status_code=204) if payload is None else JSONResponse(payload)

    def _dispatch(self, method: Method, user: str, request: Request, body: Json) -> Json | None:
        calendar_id = request.path_params["calendar_id"]
        event_id: str = request.path_params.get("event_id", "")
        store = self._store
        handlers: dict[str, Callable[[], Json | None]] = {
            "insert": lambda: store.insert(user, calendar_id, body),
            "list": lambda: store.list_events(user, calendar_id, request.query_params),
            "get": lambda: store.get(user, calendar_id, event_id),
            "patch": lambda: store.patch(user, calendar_id, event_id, body),
            "update": lambda: store.update(user, calendar_id, event_id, body),
            "delete": lambda: store.delete(user, calendar_id, event_id),
        }
        return handlers[method]()

    async def serve_token(self, request: Request) -> Response:
        self._record("token", request)
        if self._take_fault("token") == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        form = _form(await request.body())
        with self._lock:
            status, payload = self._oauth.grant(form, _basic(request.headers.get("authorization")))
        return JSONResponse(payload, status_code=status, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _when_body(moment: datetime | date, time_zone: str | None = None) -> Json:
    if not isinstance(moment, datetime):
        return {"date": moment.isoformat()}
    if moment.tzinfo is None and not time_zone:
        raise ValueError("give an aware datetime, or a naive one with its time_zone")
    body: Json = {"dateTime": moment.isoformat()}
    if time_zone:
        body["timeZone"] = time_zone
    return body


async def _json_body(request: Request) -> Json:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise GoogleApiError(400, "parseError", "Parse Error") from None
    if not isinstance(body, dict):
        raise GoogleApiError(400, "parseError", "Parse Error")
    return body


def _build_app(fake: FakeGoogleCalendar) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    events = "/calendar/v3/calendars/{calendar_id}/events"
    routes: list[tuple[str, str, Method]] = [
        (events, "GET", "list"), (events, "POST", "insert"), (events + "/{event_id}", "GET", "get"),
        (events + "/{event_id}", "PATCH", "patch"), (events + "/{event_id}", "PUT", "update"),
        (events + "/{event_id}", "DELETE", "delete"),
    ]  # fmt: skip
    for path, verb, method in routes:
        app.add_api_route(path, _api_route(fake, method), methods=[verb])
    app.add_api_route("/token", fake.serve_token, methods=["POST"])
    return app


def _api_route(fake: FakeGoogleCalendar, method: Method) -> Callable[[Request], Any]:
    async def route(request: Request) -> Response:
        return await fake.serve_api(method, request)

    return route


__all__ = [
    "API_METHODS",
    "CALENDAR_SCOPE",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "FakeGoogleCalendar",
    "Fault",
    "GoogleApiError",
    "Method",
    "RecordedCall",
    "rfc3339",
]
