"""Field types every contract shares."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from functools import cache
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

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


# The years a moment or day may fall in. Client moments and days go to Postgres through asyncpg, which cannot
# write every one Python holds: an instant before 0001-01-01T00:00:00Z or after 9999-12-31T23:59:59.999999Z once
# in UTC is an OverflowError (a 500), and those two instants (and the days 0001-01-01 and 9999-12-31) are
# written as -infinity and infinity, which read back as other values. Years 2 to 9998 keep clear of both
# whatever the offset. The schema says it with a pattern on the year, beside format date-time or date.
MIN_YEAR = 2
MAX_YEAR = 9998
YEAR_PATTERN = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
_D = TypeVar("_D", bound=date)


def _storable_year(value: _D) -> _D:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"the year must be from {MIN_YEAR} to {MAX_YEAR}")
    return value


# Every moment a client sends: ISO 8601 with a time zone, nothing else, in the years above.
IsoDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_only),
    AfterValidator(_storable_year),
    Field(json_schema_extra={"pattern": YEAR_PATTERN}),
]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_only(value: Any) -> Any:
    """A day arrives as "YYYY-MM-DD" (or a date, from Python callers): a number or a date-time is refused
    instead of being read as seconds since 1970 or cut to its day."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("expected a date as YYYY-MM-DD, e.g. 2026-11-30")


# Every calendar day a client sends: "YYYY-MM-DD", nothing else, in the years above.
IsoDate = Annotated[
    date,
    BeforeValidator(_date_only),
    AfterValidator(_storable_year),
    Field(json_schema_extra={"pattern": YEAR_PATTERN}),
]


def _scalar_kinds(annotation: Any) -> set[Any]:
    """The scalar types a field's annotation admits (`float | None` -> {float, NoneType}), others as is."""
    if get_origin(annotation) is Annotated:
        return _scalar_kinds(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return {kind for arg in get_args(annotation) for kind in _scalar_kinds(arg)}
    return {annotation}


def _lax_scalar(wanted: frozenset[Any], value: Any) -> str | None:
    """Why `value` would only pass by pydantic's lax coercion (false as 0, 0 as false, "5" as 5), or None."""
    if value is None:
        return None
    if wanted == {bool}:
        return None if isinstance(value, bool) else "expected a boolean (true or false)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "expected a number" if float in wanted else "expected an integer"
    return None


@cache
def _scalar_fields(model: type[BaseModel]) -> tuple[tuple[str, frozenset[Any]], ...]:
    """The model's boolean and numeric fields (by wire name) with the types they admit: worked out once per
    model, not on every request."""
    fields = []
    for name, field in model.model_fields.items():
        wanted = frozenset(_scalar_kinds(field.annotation) - {type(None)})
        if wanted == {bool} or (wanted and wanted <= {int, float}):
            fields.append((field.alias or name, wanted))
    return tuple(fields)


class QueryModel(BaseModel):
    """The base of a model of query parameters: unknown parameters refused; values arrive as strings."""

    model_config = ConfigDict(extra="forbid")


class RequestModel(BaseModel):
    """The base of every request body: unknown fields refused, and scalars taken as JSON typed them.

    FastAPI validates a parsed body in pydantic's lax mode, which would read `false` as the number 0, `0` as
    false and `"5"` as 5, all of which the OpenAPI says are wrong. Strict mode is not an option (it refuses
    the ISO strings dates, datetimes and UUIDs arrive as), so booleans and numbers are checked here, once.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _scalars_as_typed(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, wanted in _scalar_fields(cls):
            if key in data and (problem := _lax_scalar(wanted, data[key])):
                raise PydanticCustomError("lax_scalar", "{field}: {problem}", {"field": key, "problem": problem})
        return data
