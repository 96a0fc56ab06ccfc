"""The fake Google Calendar's wire behaviour, through the real googleapiclient and google-auth.

These tests are synchronous: googleapiclient is, and the fake serves from a thread of its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]

from pma_core.testing.fake_google_calendar import FakeGoogleCalendar, rfc3339

from .conftest import USER, CredentialsMaker

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _body(start: datetime, end: datetime, **fields: Any) -> dict[str, Any]:
    return {"summary": "focus", "start": {"dateTime": rfc3339(start)}, "end": {"dateTime": rfc3339(end)}, **fields}


def _insert(service: Any, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = service.events().insert(calendarId="primary", body=_body(T0, T0 + HOUR, **fields)).execute()
    return event


def _error(exc: pytest.ExceptionInfo[Any]) -> tuple[int, str, str]:
    error = json.loads(exc.value.content)["error"]
    assert error["code"] == exc.value.status_code
    return exc.value.status_code, error["errors"][0]["reason"], error["message"]


def _list(service: Any, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = service.events().list(calendarId="primary", **params).execute()
    return page


def test_insert_with_our_id_then_get_and_list(google_service: Any) -> None:
    created = _insert(google_service, id="pma0123456789abcdef", extendedProperties={"private": {"pma": "1"}})
    assert created["id"] == "pma0123456789abcdef"
    assert created["status"] == "confirmed"
    assert created["sequence"] == 0
    assert created["etag"].startswith('"')
    assert created["updated"].endswith("Z")
    assert "transparency" not in created  # opaque is the default Google leaves out
    fetched = google_service.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert fetched == created
    assert [e["id"] for e in _list(google_service)["items"]] == [created["id"]]


@pytest.mark.parametrize("bad_id", ["pmaX0123", "abcd", "pmaw12345", "pma_12345", "a" * 1025])
def test_an_id_outside_base32hex_is_refused(google_service: Any, bad_id: str) -> None:
    with pytest.raises(HttpError) as exc:
        _insert(google_service, id=bad_id)
    assert _error(exc) == (400, "invalid", "Invalid resource id value.")


def test_an_existing_id_conflicts_even_when_cancelled(google_service: Any) -> None:
    event = _insert(google_service, id="pmaabcdef01")
    with pytest.raises(HttpError) as exc:
        _insert(google_service, id="pmaabcdef01")
    assert _error(exc) == (409, "duplicate", "The requested identifier already exists.")
    google_service.events().delete(calendarId="primary", eventId=event["id"]).execute()
    with pytest.raises(HttpError) as again:
        _insert(google_service, id="pmaabcdef01")
    assert _error(again)[:2] == (409, "duplicate")


def test_delete_cancels_and_keeps_the_event(google_service: Any) -> None:
    event = _insert(google_service)
    events = google_service.events()
    events.delete(calendarId="primary", eventId=event["id"]).execute()
    assert events.get(calendarId="primary", eventId=event["id"]).execute()["status"] == "cancelled"
    with pytest.raises(HttpError) as exc:
        events.delete(calendarId="primary", eventId=event["id"]).execute()
    assert _error(exc) == (410, "deleted", "Resource has been deleted")
    assert _list(google_service)["items"] == []
    (deleted,) = _list(google_service, showDeleted=True)["items"]
    assert deleted["id"] == event["id"]
    assert deleted["status"] == "cancelled"


def test_get_of_an_unknown_event_or_calendar_is_not_found(google_service: Any) -> None:
    with pytest.raises(HttpError) as exc:
        google_service.events().get(calendarId="primary", eventId="nosuchevent").execute()
    assert _error(exc) == (404, "notFound", "Not Found")
    with pytest.raises(HttpError) as other:
        google_service.events().list(calendarId="team@group.calendar.google.com").execute()
    assert _error(other)[:2] == (404, "notFound")


def test_patch_merges_and_bumps_sequence_only_on_time_changes(google_service: Any) -> None:
    event = _insert(google_service, extendedProperties={"private": {"a": "1", "b": "2"}})
    events = google_service.events()
    renamed = events.patch(
        calendarId="primary",
        eventId=event["id"],
        body={"summary": "renamed", "extendedProperties": {"private": {"b": None, "c": "3"}}},
    ).execute()
    assert renamed["sequence"] == 0
    assert renamed["etag"] != event["etag"]
    assert renamed["extendedProperties"]["private"] == {"a": "1", "c": "3"}
    moved = events.patch(
        calendarId="primary",
        eventId=event["id"],
        body={"start": {"dateTime": rfc3339(T0 + HOUR)}, "end": {"dateTime": rfc3339(T0 + 2 * HOUR)}},
    ).execute()
    assert moved["sequence"] == 1
    assert moved["summary"] == "renamed"
    assert moved["start"]["dateTime"] == rfc3339(T0 + HOUR)


def test_update_replaces_and_restores_a_cancelled_event(google_service: Any) -> None:
    event = _insert(google_service, description="old")
    events = google_service.events()
    events.delete(calendarId="primary", eventId=event["id"]).execute()
    body = _body(T0 + HOUR, T0 + 2 * HOUR, status="confirmed")
    restored = events.update(calendarId="primary", eventId=event["id"], body=body).execute()
    assert restored["status"] == "confirmed"
    assert "description" not in restored
    assert [e["id"] for e in _list(google_service)["items"]] == [event["id"]]


def test_times_are_validated(google_service: Any) -> None:
    events = google_service.events()
    with pytest.raises(HttpError) as empty:
        events.insert(calendarId="primary", body=_body(T0, T0 - HOUR)).execute()
    assert _error(empty) == (400, "timeRangeEmpty", "The specified time range is empty.")
    with pytest.raises(HttpError) as missing:
        events.insert(calendarId="primary", body={"start": {"dateTime": rfc3339(T0)}}).execute()
    assert _error(missing) == (400, "required", "Missing end time.")


def test_times_come_back_in_the_event_time_zone(google_service: Any) -> None:
    body = {
        "start": {"dateTime": "2030-03-04T10:00:00", "timeZone": "Europe/Zurich"},
        "end": {"dateTime": "2030-03-04T11:00:00", "timeZone": "Europe/Zurich"},
    }
    event = google_service.events().insert(calendarId="primary", body=body).execute()
    assert event["start"] == {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": "Europe/Zurich"}


def test_time_window_is_an_overlap(fake_google: FakeGoogleCalendar, google_service: Any) -> None:
    def add(name: str, start: datetime | date, end: datetime | date) -> None:
        fake_google.add_event(USER, summary=name, start=start, end=end)

    add("ends at timeMin", T0 - HOUR, T0)
    add("straddles timeMin", T0 - HOUR, T0 + HOUR)
    add("inside", T0 + HOUR, T0 + 2 * HOUR)
    add("starts at timeMax", T0 + 3 * HOUR, T0 + 4 * HOUR)
    add("all day", T0.date(), T0.date() + timedelta(days=1))
    page = _list(
        google_service, timeMin=rfc3339(T0), timeMax=rfc3339(T0 + 3 * HOUR), singleEvents=True, orderBy="startTime"
    )
    assert [e["summary"] for e in page["items"]] == ["all day", "straddles timeMin", "inside"]


def test_private_extended_properties_must_all_match(fake_google: FakeGoogleCalendar, google_service: Any) -> None:
    fake_google.add_event(USER, summary="both", start=T0, end=T0 + HOUR, private={"pma": "1", "k": "v=w"})
    fake_google.add_event(USER, summary="one", start=T0, end=T0 + HOUR, private={"pma": "1"})
    fake_google.add_event(USER, summary="none", start=T0, end=T0 + HOUR)
    assert [e["summary"] for e in _list(google_service, privateExtendedProperty="pma=1")["items"]] == ["both", "one"]
    both = _list(google_service, privateExtendedProperty=["pma=1", "k=v=w"])["items"]
    assert [e["summary"] for e in both] == ["both"]


def test_paging_hands_out_the_sync_token_on_the_last_page(fake_google: FakeGoogleCalendar, google_service: Any) -> None:
    for n in range(5):
        fake_google.add_event(USER, summary=f"e{n}", start=T0 + n * HOUR, end=T0 + (n + 1) * HOUR)
    events, pages = google_service.events(), []
    request = events.list(calendarId="primary", maxResults=2)
    while request is not None:
        page = request.execute()
        pages.append(page)
        request = events.list_next(request, page)
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    assert all("nextPageToken" in p for p in pages[:2])
    assert "nextPageToken" not in pages[-1]
    assert [e["summary"] for p in pages for e in p["items"]] == [f"e{n}" for n in range(5)]


def test_a_sync_token_reads_only_what_changed(fake_google: FakeGoogleCalendar, google_service: Any) -> None:
    kept = fake_google.add_event(USER, summary="kept", start=T0, end=T0 + HOUR)
    moved = fake_google.add_event(USER, summary="moved", start=T0, end=T0 + HOUR)
    gone = fake_google.add_event(USER, summary="gone", start=T0, end=T0 + HOUR)
    token = _list(google_service)["nextSyncToken"]
    fake_google.move_event(USER, moved["id"], start=T0 + HOUR, end=T0 + 2 * HOUR)
    fake_google.delete_event(USER, gone["id"])
    changed = _list(google_service, syncToken=token)
    assert [e["id"] for e in changed["items"]] == [moved["id"], gone["id"]]
    assert changed["items"][1] == {
        "kind": "calendar#event",
        "etag": changed["items"][1]["etag"],
        "id": gone["id"],
        "status": "cancelled",
    }
    assert kept["id"] not in {e["id"] for e in changed["items"]}
    assert _list(google_service, syncToken=changed["nextSyncToken"])["items"] == []


@pytest.mark.parametrize(
    "param",
    [
        {"timeMin": "2030-01-01T00:00:00Z"}, {"timeMax": "2030-01-01T00:00:00Z"},
        {"privateExtendedProperty": "pma=1"}, {"q": "focus"}, {"orderBy": "updated"},
        {"iCalUID": "x@google.com"}, {"updatedMin": "2030-01-01T00:00:00Z"},
    ],
)  # fmt: skip
def test_a_sync_token_refuses_filters(google_service: Any, param: dict[str, str]) -> None:
    token = _list(google_service)["nextSyncToken"]
    with pytest.raises(HttpError) as exc:
        _list(google_service, syncToken=token, **param)
    assert _error(exc)[:2] == (400, "invalid")


def test_a_stale_sync_token_requires_a_full_sync(fake_google: FakeGoogleCalendar, google_service: Any) -> None:
    token = _list(google_service)["nextSyncToken"]
    fake_google.invalidate_sync_tokens(USER)
    for stale in (token, "never-handed-out"):
        with pytest.raises(HttpError) as exc:
            _list(google_service, syncToken=stale)
        assert _error(exc) == (410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")


def test_no_or_unknown_access_token_is_401_unauthenticated(fake_google: FakeGoogleCalendar) -> None:
    url = fake_google.url + "calendars/primary/events"
    for headers in ({}, {"Authorization": "Bearer ya29.unknown"}):
        answer = httpx.get(url, headers=headers)
        assert answer.status_code == 401
        error = answer.json()["error"]
        assert error["code"] == 401
        assert error["status"] == "UNAUTHENTICATED"
        assert error["errors"][0]["reason"] in ("required", "authError")
        assert error["errors"][0]["locationType"] == "header"


def test_an_expired_access_token_is_refreshed_by_google_auth(
    fake_google: FakeGoogleCalendar, google_service: Any
) -> None:
    _list(google_service)
    fake_google.expire_access_tokens(USER)
    _list(google_service)
    assert fake_google.calls["token"] == 2
    assert fake_google.calls["list"] == 3  # the 401, then the retry with the new token


def test_a_revoked_refresh_token_is_invalid_grant(
    fake_google: FakeGoogleCalendar, google_service: Any, refresh_token: str
) -> None:
    _list(google_service)
    fake_google.revoke_refresh_token(refresh_token)
    # Its access token stops working too: the 401 makes google-auth refresh, which the token endpoint refuses.
    with pytest.raises(RefreshError, match=r"invalid_grant: Token has been expired or revoked\."):
        _list(google_service)
    assert fake_google.calls["list"] == 2
    assert fake_google.calls["token"] == 2


def test_users_see_only_their_own_calendars(
    fake_google: FakeGoogleCalendar, google_service: Any, make_credentials: CredentialsMaker
) -> None:
    fake_google.add_user("bob@example.com")
    fake_google.add_event("bob@example.com", summary="bob's", start=T0, end=T0 + HOUR)
    assert _list(google_service)["items"] == []
    fake_google.add_calendar(USER, "team@group.calendar.google.com")
    fake_google.add_event(USER, summary="team", start=T0, end=T0 + HOUR, calendar_id="team@group.calendar.google.com")
    team = google_service.events().list(calendarId="team@group.calendar.google.com").execute()
    assert [e["summary"] for e in team["items"]] == ["team"]
    assert google_service.events().list(calendarId=USER).execute()["items"] == []  # the email is "primary"


def test_authorization_code_with_pkce(fake_google: FakeGoogleCalendar) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = fake_google.issue_authorization_code(USER, redirect_uri="http://localhost/cb", code_challenge=challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": fake_google.client_id,
        "client_secret": fake_google.client_secret,
        "redirect_uri": "http://localhost/cb",
    }
    wrong = httpx.post(fake_google.token_url, data={**form, "code_verifier": "w" * 50})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    code = fake_google.issue_authorization_code(USER, redirect_uri="http://localhost/cb", code_challenge=challenge)
    good = httpx.post(fake_google.token_url, data={**form, "code": code, "code_verifier": verifier})
    assert good.status_code == 200
    assert good.json()["token_type"] == "Bearer"
    assert good.json()["refresh_token"]
    assert good.json()["expires_in"] > 0
    reused = httpx.post(fake_google.token_url, data={**form, "code": code, "code_verifier": verifier})
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_refresh_grant_errors(fake_google: FakeGoogleCalendar, refresh_token: str) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": fake_google.client_id,
        "client_secret": fake_google.client_secret,
    }
    assert httpx.post(fake_google.token_url, data=form).status_code == 200
    assert httpx.post(fake_google.token_url, data={**form, "client_secret": "nope"}).status_code == 401
    fake_google.revoke_refresh_token(refresh_token)
    revoked = httpx.post(fake_google.token_url, data=form)
    assert revoked.status_code == 400
    assert revoked.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


@pytest.mark.parametrize(
    ("fault", "status", "reason"),
    [
        ("rate_limit_429", 429, "rateLimitExceeded"), ("rate_limit_403", 403, "rateLimitExceeded"),
        ("user_rate_limit_403", 403, "userRateLimitExceeded"), ("quota_exceeded_403", 403, "quotaExceeded"),
        ("backend_500", 500, "backendError"), ("backend_503", 503, "backendError"),
    ],
)  # fmt: skip
def test_injected_errors_are_in_google_shape(
    fake_google: FakeGoogleCalendar, google_service: Any, fault: Any, status: int, reason: str
) -> None:
    fake_google.inject(fault, method="list")
    _insert(google_service)  # another method: not affected
    with pytest.raises(HttpError) as exc:
        _list(google_service)
    assert _error(exc)[:2] == (status, reason)
    assert len(_list(google_service)["items"]) == 1
    assert fake_google.calls["list"] == 2
    assert fake_google.pending_faults() == 0


def test_faults_can_skip_calls(fake_google: FakeGoogleCalendar, google_service: Any) -> None:
    fake_google.inject("backend_500", method="insert", skip=2)
    _insert(google_service)
    _insert(google_service)
    with pytest.raises(HttpError):
        _insert(google_service)
    assert len(_list(google_service)["items"]) == 2


def test_a_dropped_connection_is_resent_once_by_httplib2(fake_google: FakeGoogleCalendar, google_service: Any) -> None:
    fake_google.inject("drop_connection", method="insert")
    _insert(google_service)
    assert fake_google.calls["insert"] == 2
    fake_google.inject("drop_connection", times=2, method="insert")
    with pytest.raises(ConnectionError):
        _insert(google_service)
    assert len(_list(google_service)["items"]) == 1


def test_a_drop_after_apply_loses_only_the_answer(fake_google: FakeGoogleCalendar, google_service: Any) -> None:
    fake_google.inject("drop_after_apply", method="insert")
    with pytest.raises(HttpError) as exc:  # httplib2's resend meets the event the first try created
        _insert(google_service, id="pmaabcdef02")
    assert _error(exc)[:2] == (409, "duplicate")
    assert [e["id"] for e in _list(google_service)["items"]] == ["pmaabcdef02"]
