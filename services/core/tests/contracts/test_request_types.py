"""The shared request types refuse what lax parsing would misread, and the schema says what they take."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from pma_core.contracts.common import YEAR_PATTERN, IsoDatetime, RequestModel


class _Moment(BaseModel):
    at: IsoDatetime


class _Body(RequestModel):
    importance: float = Field(default=0.5, ge=0, le=1)
    limit: int = 10
    include: bool = False
    note: str | None = None


@pytest.mark.parametrize(
    "moment",
    ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z", "9999-01-01T00:00:00+14:00"],
)
def test_a_moment_outside_the_supported_years_is_refused(moment: str) -> None:
    with pytest.raises(ValidationError, match="the year must be from 2 to 9998"):
        _Moment(at=moment)  # type: ignore[arg-type]


def test_a_moment_in_the_supported_years_is_taken_and_the_schema_says_the_years() -> None:
    assert _Moment(at="9998-12-31T18:59:59-05:00").at.year == 9998  # type: ignore[arg-type]
    assert _Moment(at="0002-01-01T00:00:00+14:00").at.year == 2  # type: ignore[arg-type]
    assert _Moment.model_json_schema()["properties"]["at"]["pattern"] == YEAR_PATTERN


@pytest.mark.parametrize(
    ("field", "value"),
    [("importance", False), ("importance", "0.5"), ("limit", True), ("limit", "5"), ("include", 0), ("include", "no")],
)
def test_booleans_and_numbers_are_taken_only_as_json_typed_them(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=f"{field}: expected"):
        _Body.model_validate({field: value})


def test_well_typed_scalars_and_nulls_pass() -> None:
    body = _Body.model_validate({"importance": 1, "limit": 5, "include": True, "note": None})
    assert (body.importance, body.limit, body.include, body.note) == (1.0, 5, True, None)
