"""One check at the edge for the NUL character, which Postgres cannot store in text or JSON.

Every request's path parameters, query string, headers and JSON body are searched for it before any route
runs; it is refused with a 422 naming where it was (`body.memories.0.text`, `query.q`), instead of a 500
from the database, or a turn stored in a session that later poisons its overflow.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from pma_core.errors import ValidationFailedError

NUL = "\x00"
_NUL_ESCAPE = b"\\u0000"


async def reject_nul(request: Request) -> None:
    """A FastAPI dependency of every route (build_app): 422 at the first NUL found."""
    for name, value in request.path_params.items():
        if NUL in str(value):
            raise nul_error(f"path.{name}")
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise nul_error(f"query.{name.replace(NUL, '')}")
    for name, value in request.headers.items():
        if NUL in value:
            raise nul_error(f"header.{name}")
    body = await request.body()  # cached: the route reads the same bytes
    # The byte scan is cheap and almost always negative; only then is the body parsed to name the field.
    has_nul = bool(body) and (_NUL_ESCAPE in body or b"\x00" in body)
    if has_nul and (where := _find(_parsed(body), "body")) is not None:
        raise nul_error(where)


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")  # not JSON: the route's own parsing answers for it


def _find(value: Any, where: str) -> str | None:
    """The path of the first string (or key) holding a NUL, or None."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                return f"{where}.{key.replace(NUL, '')}"
            if (found := _find(item, f"{where}.{key}")) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _find(item, f"{where}.{index}")) is not None:
                return found
    return None


def nul_error(field: str) -> ValidationFailedError:
    message = "contains the NUL character (\\u0000), which cannot be stored"
    return ValidationFailedError(
        f"invalid request: {field}: {message}", details=[{"field": field, "message": message, "type": "nul_character"}]
    )
