"""A call cancelled while its worker thread waits on Google (a shutdown, a caller's timeout) leaves no socket
open: the thread's connection is closed when it ends, not left to the garbage collector (an unclosed socket
that pytest reported at the end of an unrelated test)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import psutil
import pytest

from pma_core.testing.fake_google_calendar import SLOW_SECONDS, FakeGoogleCalendar, Method
from scheduler_engine.adapters.google_calendar import GoogleCalendar
from scheduler_engine.domain.models import Interval

from .conftest import USER

WINDOW = Interval(datetime(2030, 3, 4, tzinfo=UTC), datetime(2030, 3, 5, tzinfo=UTC))


def _connections_to(port: int) -> int:
    return sum(1 for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port == port)


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("slow", ["token", "list"])
async def test_a_call_cancelled_mid_flight_closes_its_connection(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar, slow: Method
) -> None:
    """Slow "token": cancelled during the access-token refresh, the thread goes on to the API call itself
    (a new connection after the session closed); slow "list": cancelled waiting for the API's answer."""
    port = urlsplit(fake_google.url).port
    assert port is not None
    fake_google.inject("slow", method=slow)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        busy = asyncio.create_task(calendar.busy(USER, WINDOW, ["primary"]))
        await _until(lambda: fake_google.calls[slow] == 1)
        busy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await busy
        # The worker thread still waits for the slow answer; then its connection must be closed.
        await asyncio.sleep(SLOW_SECONDS)
        try:
            await _until(lambda: _connections_to(port) == 0)
        except TimeoutError:
            pytest.fail(f"{_connections_to(port)} connection(s) to Google left open after the call ended")
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
