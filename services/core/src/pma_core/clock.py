"""The one clock every service injects: `utc_now`, and the `Clock` type tests swap for a fixed one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, timezone-aware in UTC (never a naive datetime)."""
    return datetime.now(UTC)
