"""Background: work after a response, tracked, drained then cancelled by the lifespan, failures logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pma_core.resources import Background


async def test_close_waits_for_work_that_finishes_within_the_drain() -> None:
    done: list[str] = []

    async def work() -> None:
        await asyncio.sleep(0.01)
        done.append("finished")

    background = Background(drain_seconds=5)
    background.spawn(work())
    assert background.running == 1
    await background.aclose()
    assert done == ["finished"]
    assert background.running == 0


async def test_close_cancels_work_past_the_drain_and_waits_for_it_to_unwind() -> None:
    unwound = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            unwound.set()

    background = Background(drain_seconds=0.01)
    background.spawn(stuck())
    await asyncio.sleep(0)  # let it start
    await background.aclose()
    assert unwound.is_set()  # cancelled and unwound before aclose returned: nothing outlives the lifespan


async def test_a_failure_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def failing() -> None:
        raise RuntimeError("boom")

    background = Background()
    with caplog.at_level(logging.WARNING, logger="pma_core.resources"):
        background.spawn(failing())
        await asyncio.sleep(0.01)
        await background.aclose()
    assert [r.getMessage() for r in caplog.records] == ["background work failed"]
    assert background.running == 0
