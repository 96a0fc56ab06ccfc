"""The scheduler-engine app: `create_app(settings)` builds it; `app_from_env` is uvicorn's factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
from fastapi import FastAPI

from pma_core.app import LifespanState, ReadinessCheck, app_from_environment, build_app
from pma_core.clients import MemoryGatewayClient, PlannerEngineClient, open_client
from pma_core.resources import Background, core_readiness, open_core_resources, run_until_exit
from scheduler_engine import __version__
from scheduler_engine.adapters.google_calendar import GoogleCalendar, RetryPolicy
from scheduler_engine.adapters.google_credentials import GoogleAccounts
from scheduler_engine.adapters.planner import PlannerGateway
from scheduler_engine.api import ADMIN_ROUTES, routers
from scheduler_engine.deps import State
from scheduler_engine.settings import Settings

DESCRIPTION = (
    "Scheduling service (`scheduler.*`): places a plan's tasks as calendar blocks under constraints"
    " (OR-Tools CP-SAT, greedy fallback), keeps them in Postgres, publishes them as an ICS feed and syncs"
    " them to Google Calendar idempotently; tells the planner how each run went."
)
_log = logging.getLogger(__name__)
# Reads a caller waits on (GET /v1/busy) give up within about a second and a half of backoff plus the
# calls themselves, so the answer, "Google could not be read" included, beats the caller's timeout (5 s).
READ_RETRY = RetryPolicy(attempts=3, base_delay=0.3, max_delay=1.0)
READ_TIMEOUT_SECONDS = 3.0


async def _sweep_forever(state: State, interval_seconds: float) -> None:
    """Run again what a crash interrupted, and deliver the reports the planner did not take."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            rerun, delivered = await state.runs().sweep()
            await state.watch_calendars()
        except Exception:  # the loop must outlive any one failure (e.g. Postgres restarting)
            _log.exception("scheduler sweep failed; retrying in %.0f s", interval_seconds)
            continue
        if rerun or delivered:
            _log.info("scheduler sweep: %d runs executed again, %d reports delivered", rerun, delivered)


GoogleParts = tuple[GoogleCalendar | None, GoogleCalendar | None, GoogleAccounts | None]


def _google(settings: Settings, pool: asyncpg.Pool) -> GoogleParts:
    """The calendar runs use, the same with the short retry budget of reads, and the accounts."""
    google = settings.google
    if not google.enabled:
        return None, None, None
    accounts = GoogleAccounts(pool, google)
    calendar = GoogleCalendar(accounts.credentials, api_endpoint=google.api_endpoint, calendar_id=google.calendar_id)
    reads = GoogleCalendar(
        accounts.credentials, api_endpoint=google.api_endpoint, calendar_id=google.calendar_id, retry=READ_RETRY,
        timeout_seconds=READ_TIMEOUT_SECONDS,
    )  # fmt: skip
    return calendar, reads, accounts


# Reached without PMA_API_TOKEN or a Cloudflare Access assertion: a calendar app fetching the feed and Google
# redirecting a browser send neither; the feed's own token and OAuth's single-use state guard them.
PUBLIC_PATHS = ("/v1/calendars/{user_id}.ics", "/v1/oauth/google/callback")


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState[State]]:
        # Every lock here is transaction-scoped and every setting local (tests/test_session_state.py):
        # connections go back to the pool without a reset round trip.
        async with open_core_resources(settings, session_state=False) as core, AsyncExitStack() as stack:
            memory_client = open_client(stack, settings, MemoryGatewayClient)
            planner_client = open_client(stack, settings, PlannerEngineClient)
            # Closed first: a solve still running gets a moment, then is cancelled; the sweep redoes it.
            background = Background()
            stack.push_async_callback(background.aclose)
            google, google_reads, accounts = _google(settings, core.pool)
            state = State(
                settings=settings, pool=core.pool, cache=core.cache, memory=memory_client,
                planner=PlannerGateway(planner_client), background=background, google=google, accounts=accounts,
                google_reads=google_reads, solve_slots=asyncio.Semaphore(settings.scheduler.max_concurrent_solves),
            )  # fmt: skip
            run_until_exit(stack, _sweep_forever(state, settings.scheduler.sweep_interval_seconds))
            # The planner is told of finished runs, and the sweep retries when it is down: not critical.
            readiness = [
                *core_readiness(core),
                ReadinessCheck("memory-gateway", memory_client.probe),
                ReadinessCheck("planner-engine", planner_client.probe, critical=False),
            ]
            yield LifespanState(resources=state, readiness=readiness)

    return build_app(
        settings=settings,
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        routers=routers,
        public_paths=PUBLIC_PATHS,
        admin_routes=ADMIN_ROUTES,
    )


def app_from_env() -> FastAPI:
    return app_from_environment(Settings, create_app)
