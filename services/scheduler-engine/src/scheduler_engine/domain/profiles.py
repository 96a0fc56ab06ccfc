"""A user's scheduling profile, from the API's form (weekday names, "HH:MM") to the solver's."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pma_core.contracts.scheduling import WEEKDAYS, SchedulingProfile, TimeWindow
from pma_core.errors import ValidationFailedError
from scheduler_engine.domain.constraints import local_time
from scheduler_engine.domain.models import LocalWindow, Profile


def checked_profile(profile: SchedulingProfile) -> SchedulingProfile:
    """The profile, or a 422 for what its contract cannot check (an unknown time zone)."""
    try:
        ZoneInfo(profile.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"unknown time zone {profile.time_zone!r} (an IANA name, e.g. Europe/Berlin)"
        raise ValidationFailedError(
            f"invalid request: body.time_zone: {message}",
            details=[{"field": "body.time_zone", "message": message, "type": "time_zone"}],
        ) from None
    return profile


def domain_profile(user_id: str, profile: SchedulingProfile) -> Profile:
    return Profile(
        user_id=user_id,
        time_zone=profile.time_zone,
        working_hours={
            WEEKDAYS.index(day): tuple(_local(window, f"working_hours.{day}") for window in windows)
            for day, windows in profile.working_hours.items()
            if windows
        },
        days_off=frozenset(profile.days_off),
        buffer_minutes=profile.buffer_minutes,
        min_chunk_minutes=profile.min_chunk_minutes,
        max_chunk_minutes=profile.max_chunk_minutes,
        daily_focus_cap_minutes=profile.daily_focus_cap_minutes,
        lunch=_local(profile.lunch, "lunch") if profile.lunch else None,
        protected=tuple(_local(window, "protected") for window in profile.protected),
        freeze_hours=profile.freeze_hours,
        busy_calendars=tuple(profile.busy_calendars),
    )


def _local(window: TimeWindow, field: str) -> LocalWindow:
    return LocalWindow(local_time(window.start, f"{field}.start"), local_time(window.end, f"{field}.end"))
