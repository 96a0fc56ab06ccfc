"""Readiness: run every dependency check concurrently, each under a timeout, and summarise.

A failing critical dependency (Postgres, Qdrant, a service we call) makes the whole service `fail`
(503 naming it); a failing non-critical one (Valkey, which only caches) makes it `degraded` (200).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pma_core.app.schemas import CheckStatus, DependencyRead, ReadinessRead

Probe = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    probe: Probe
    critical: bool = True


async def _run_one(check: ReadinessCheck, budget_seconds: float) -> DependencyRead:
    started = time.perf_counter()
    status: CheckStatus = "ok"
    try:
        detail = await asyncio.wait_for(check.probe(), timeout=budget_seconds) or ""
    except TimeoutError:
        status, detail = "fail", f"no answer within {budget_seconds:.1f}s"
    except Exception as exc:  # a probe reports any failure; it never raises into the endpoint
        status, detail = "fail", f"{type(exc).__name__}: {exc}"[:300]
    if status == "fail" and not check.critical:
        status = "degraded"
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return DependencyRead(name=check.name, status=status, critical=check.critical, detail=detail, latency_ms=latency_ms)


async def run_checks(service: str, checks: Sequence[ReadinessCheck], *, budget_seconds: float = 2.0) -> ReadinessRead:
    results = await asyncio.gather(*(_run_one(check, budget_seconds) for check in checks))
    statuses = {result.status for result in results}
    overall: CheckStatus = "fail" if "fail" in statuses else "degraded" if "degraded" in statuses else "ok"
    return ReadinessRead(status=overall, service=service, dependencies=list(results))
