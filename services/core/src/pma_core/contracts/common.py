"""Field types every contract shares."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

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
