"""Work that follows a response instead of delaying it (recording `plan.created` in memory).

Such work must be safe to lose: whatever a task does not finish (the process stops, the gateway is down),
the hand-over sweep finds still pending in Postgres and does again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

_log = logging.getLogger(__name__)


class Background:
    def __init__(self, *, drain_seconds: float = 5.0) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._drain_seconds = drain_seconds

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.warning("background work failed (the sweep retries it)", exc_info=task.exception())

    async def aclose(self) -> None:
        """Give running work a moment to finish, then cancel what is left (the sweep redoes it)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self._drain_seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
