"""The observer-agent under test: served on a real port over real Postgres and Valkey, calling one
stand-in app for the planner, the scheduler and the memory-gateway, and a fake Coda on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from observer_agent.main import create_app
from observer_agent.settings import CodaSettings, ObserverSettings, Settings
from pma_core.embedded.process import free_port
from pma_core.settings import LLMSettings, PostgresSettings, ServiceUrls, ValkeySettings
from pma_core.testing.fake_coda import DEFAULT_TOKEN, FakeCoda
from pma_core.testing.serve import serve

from .standins import Records, standins

DOC, TABLE = "doc-1", "grid-thread"
COLUMNS = {
    "c-key": "Key", "c-user": "User", "c-date": "Date", "c-kind": "Kind", "c-title": "Title",
    "c-summary": "Summary", "c-metrics": "Metrics", "c-suggestions": "Suggestions", "c-chart": "Chart",
    "c-updated": "Updated",
}  # fmt: skip


@dataclass
class Observer:
    http: httpx.AsyncClient
    records: Records
    coda: FakeCoda


ObserverFactory = Callable[..., AbstractAsyncContextManager[Observer]]


@pytest.fixture(scope="module")
def coda_server() -> Any:
    with FakeCoda(mutation_delay=0.05) as fake:
        yield fake


@pytest.fixture
def coda(coda_server: FakeCoda) -> FakeCoda:
    coda_server.reset()
    coda_server.mutation_delay = 0.05
    coda_server.add_table(DOC, TABLE, columns=COLUMNS, name="Daily Thread")
    return coda_server


def coda_settings(coda: FakeCoda, **changes: Any) -> CodaSettings:
    columns = {f"column_{name[2:]}": name for name in COLUMNS}
    return CodaSettings(
        api_token=SecretStr(DEFAULT_TOKEN), base_url=coda.url, doc_id=DOC, table_id=TABLE, backoff_seconds=0.05,
        max_attempts=2,
        **columns, **changes,
    )  # fmt: skip


@pytest.fixture
async def start_observer(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, coda: FakeCoda
) -> AsyncIterator[ObserverFactory]:
    records = Records()
    async with serve(standins(records)) as standin_url:

        @asynccontextmanager
        async def start(*, coda_configured: bool = True, **changes: Any) -> AsyncIterator[Observer]:
            closed = f"http://127.0.0.1:{free_port()}"
            settings = Settings(
                postgres=postgres_settings,
                valkey=valkey_settings,
                services=ServiceUrls(
                    memory_gateway_url=standin_url, planner_engine_url=standin_url, scheduler_engine_url=standin_url
                ),
                llm=LLMSettings(base_url=closed + "/v1", api_key=None, allow_model_requests=False),
                coda=coda_settings(coda) if coda_configured else CodaSettings(),
                observer=ObserverSettings(sweep_interval_seconds=0.2, post_wait_seconds=2.0, poll_seconds=0.05),
            ).model_copy(update=changes)
            async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=20) as http:
                yield Observer(http=http, records=records, coda=coda)

        yield start


@pytest.fixture
async def observer(start_observer: ObserverFactory) -> AsyncIterator[Observer]:
    async with start_observer() as running:
        yield running
