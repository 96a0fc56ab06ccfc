"""Fixtures of the end-to-end stories: `start_stack` (one `pma up` per module, stopped and checked after it),
and `clients`, typed clients of the module's `stack` (each module defines its `stack` fixture)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from four_services import Clients

from .stack import Stack, StackEnv, launch

StartStack = Callable[[StackEnv], Stack]


@pytest.fixture(scope="module")
def start_stack() -> Iterator[StartStack]:
    """`start_stack(env_for)`: a `pma up` with the settings `env_for(urls)` adds, stopped with SIGTERM after the
    module; the module fails unless it exited 0 and left no process of its tree behind."""
    started: list[Stack] = []
    with ExitStack() as cleanup:

        def start(env_for: StackEnv) -> Stack:
            # Not under pytest's basetemp: every pytest session on the machine resets its root to 0700, and
            # the embedded Postgres may run as another user who must reach its data directory.
            workdir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="pma-e2e-", ignore_cleanup_errors=True))
            stack = launch(Path(workdir), env_for)
            started.append(stack)
            return stack

        yield start
        for stack in started:
            stopped = stack.stop()
            assert stopped.code == 0, f"pma up exited {stopped.code}:\n{stack.tail()}"
            assert stopped.tree >= 6, stopped  # postgres (and its workers), valkey, the four services
            assert stopped.orphans == [], f"orphans left behind: {stopped.orphans}"


@pytest.fixture
async def clients(stack: Stack) -> AsyncIterator[Clients]:
    clients = stack.clients()
    yield clients
    await clients.aclose()
