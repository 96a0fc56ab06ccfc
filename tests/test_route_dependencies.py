"""Every dependency of every route of the four services is a coroutine function.

FastAPI runs a plain `def` dependency in a worker thread (anyio's pool, 40 at once): every request of the
four services took one or two thread hops to build its service objects, and past 40 requests at once they
queued for a thread. The builders are cheap constructors, so they are `async def` and run on the loop
(docs/benchmarks.md, "Single remember: where the CPU goes").
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import _get_api_route_for_openapi

import memory_gateway.main
import memory_gateway.settings
import observer_agent.main
import observer_agent.settings
import planner_engine.main
import planner_engine.settings
import scheduler_engine.main
import scheduler_engine.settings


def _apps() -> dict[str, FastAPI]:
    return {
        "memory-gateway": memory_gateway.main.create_app(memory_gateway.settings.Settings()),
        "planner-engine": planner_engine.main.create_app(planner_engine.settings.Settings()),
        "scheduler-engine": scheduler_engine.main.create_app(scheduler_engine.settings.Settings()),
        "observer-agent": observer_agent.main.create_app(observer_agent.settings.Settings()),
    }


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _sync_dependencies(app: FastAPI) -> list[str]:
    found = []
    for context in routing.iter_route_contexts(app.routes):
        route = _get_api_route_for_openapi(context)
        if route is None:
            continue
        for call in _calls(route.dependant):
            # A callable instance (a security scheme) counts by its __call__.
            if not (inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)):
                found.append(f"{route.path}: {getattr(call, '__qualname__', repr(call))}")
    return found


@pytest.mark.parametrize("service", ["memory-gateway", "planner-engine", "scheduler-engine", "observer-agent"])
def test_no_route_depends_on_a_plain_function(service: str) -> None:
    app = _apps()[service]
    assert sum(1 for _ in routing.iter_route_contexts(app.routes)) > 5  # the walk sees the routes
    assert _sync_dependencies(app) == []
