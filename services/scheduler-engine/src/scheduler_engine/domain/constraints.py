"""A plan's constraints that shape its run: windows kept free of blocks, on top of the profile's.

Accepted forms (anything else in `constraints` is left to the planner):
- `"protected": [{"start": "00:00", "end": "10:00"}, ...]`: local windows never used for blocks;
- `"no_work_before": "10:00"` / `"no_work_after": "18:00"`: the same as a window from / to midnight.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from pma_core.errors import ValidationFailedError
from scheduler_engine.domain.models import LocalWindow

_END_OF_DAY = time(23, 59, 59, 999999)


def protected_windows(constraints: dict[str, Any]) -> tuple[LocalWindow, ...]:
    windows = [_window(item, "constraints.protected") for item in constraints.get("protected", [])]
    if (before := constraints.get("no_work_before")) is not None:
        windows.append(LocalWindow(time(0), local_time(before, "constraints.no_work_before")))
    if (after := constraints.get("no_work_after")) is not None:
        windows.append(LocalWindow(local_time(after, "constraints.no_work_after"), _END_OF_DAY))
    return tuple(windows)


def local_time(value: object, field: str) -> time:
    """ "HH:MM" as a time ("24:00" is the end of the day)."""
    if not isinstance(value, str):
        raise _invalid(field, f"expected a time like 10:00, got {value!r}")
    if value == "24:00":
        return _END_OF_DAY
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise _invalid(field, f"expected a time like 10:00, got {value!r}") from None


def _window(item: object, field: str) -> LocalWindow:
    if not isinstance(item, dict):
        raise _invalid(field, f"expected {{'start': 'HH:MM', 'end': 'HH:MM'}}, got {item!r}")
    start, end = local_time(item.get("start"), f"{field}.start"), local_time(item.get("end"), f"{field}.end")
    if end <= start:
        raise _invalid(field, f"the window ends ({item.get('end')}) before it starts ({item.get('start')})")
    return LocalWindow(start, end)


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(
        f"invalid request: {field}: {message}", details=[{"field": field, "message": message, "type": "constraint"}]
    )
