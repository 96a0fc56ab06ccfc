"""Field types every contract shares."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

# A tenant id: what every record is scoped by. Printable, no spaces, so it is safe in keys and logs.
UserId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@+-]+$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]

# Clocks drift: a moment a client sends may be this far on the wrong side of now (an event or execution a
# little in the future, a due date a little in the past) without being refused.
CLOCK_SKEW = timedelta(minutes=5)
MAX_METADATA_KEYS = 50
MAX_METADATA_BYTES = 16_384


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} metadata keys")
    if len(json.dumps(value, default=str)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is larger than {MAX_METADATA_BYTES} bytes as JSON")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_bounded_metadata)]


_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?")


def _iso_only(value: Any) -> Any:
    """A moment arrives as an ISO 8601 string (or a datetime, from Python callers): a number, or a string of
    digits, is refused instead of being read as seconds since 1970 (`expires_at: 0` is not "1970")."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise ValueError("expected an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00Z")
    return value


# Every moment a client sends: ISO 8601 with a time zone, nothing else.
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_only(value: Any) -> Any:
    """A day arrives as "YYYY-MM-DD" (or a date, from Python callers): a number or a date-time is refused
    instead of being read as seconds since 1970 or cut to its day."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("expected a date as YYYY-MM-DD, e.g. 2026-11-30")


# Every calendar day a client sends: "YYYY-MM-DD", nothing else.
IsoDate = Annotated[date, BeforeValidator(_date_only)]
