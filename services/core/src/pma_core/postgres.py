"""The Postgres pool: asyncpg with JSON codecs (JSONB columns read and write Python objects) and a bound on
every wait; and the paged read of who was active in a window, which every service with per-user activity
answers the same way.

When Postgres hangs (a stalled disk, a network partition: the port accepts TCP but nothing answers) or is down,
each wait ends by its own setting (`PostgresSettings`): opening a connection, getting one from the pool, a
statement, handing the connection back. asyncpg then raises its own errors (`TimeoutError`, `OSError`,
`ConnectionDoesNotExistError`...), which callers catch as before (a background loop retries on them);
`postgres_unavailable` tells them from every other error, and the app's error handler answers them as a 503
`unavailable` naming Postgres (docs/api.md, "When Postgres hangs").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from pma_core.errors import UnavailableError
from pma_core.settings import PostgresSettings

Pool = asyncpg.Pool
Connection = asyncpg.Connection

# The readiness probe's own bound on each wait: under the readiness budget (2 s) even with the release after
# it, so a hung server is reported by the probe, naming Postgres, before /readyz gives up on it.
PROBE_TIMEOUT_SECONDS = 1.0

# Errors that always mean the server is down, restarting or out of connections.
_SERVER_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # class 08: connecting failed, or the connection was lost mid-operation
    asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,  # 57P01: the server is shutting down (a restart)
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
)
# What the app's error handler is registered for: these, and the two that may come from elsewhere too.
POSSIBLY_UNAVAILABLE: tuple[type[Exception], ...] = (
    *_SERVER_DOWN, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError,
)  # fmt: skip


class BoundedPool(asyncpg.Pool):
    """asyncpg's pool with a default timeout on `acquire` and on `release`, which asyncpg leaves unbounded.

    The pool's own `fetch`, `fetchrow`, `fetchval`, `execute`... acquire through `acquire`, so every adapter
    is bounded without passing a timeout. Handing a connection back waits for the server to acknowledge the
    cancel of a statement that timed out (and for the session reset) at most `release_timeout`; then asyncpg
    terminates the connection instead of pooling it, so a connection to a hung server never serves a later
    request, and the pool opens fresh ones once the server answers again.
    """

    def __init__(self, *args: Any, acquire_timeout: float, release_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout
        self.release_timeout = release_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)

    # asyncpg's signature, `timeout` included: the pool calls it so.
    async def release(self, connection: PoolConnectionProxy, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await super().release(connection, timeout=self.release_timeout if timeout is None else timeout)


class TransactionScopedConnection(asyncpg.Connection):
    """A connection of a service that keeps no session state: every lock it takes is transaction-scoped
    (`pg_advisory_xact_lock`), every setting local (`set_config(..., true)`), no LISTEN, no cursor outside a
    transaction. Handing it back to the pool then needs no reset: asyncpg's reset statement (unlock all,
    CLOSE ALL, UNLISTEN *, RESET ALL) was a round trip on every release, so one of the two a single-statement
    `pool.fetch` cost. An open transaction is still rolled back on release (asyncpg does that itself)."""

    def get_reset_query(self) -> str:
        return ""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text")


async def open_pool(settings: PostgresSettings, *, session_state: bool = True) -> asyncpg.Pool:
    """Open the service's pool; fails fast (with the server's own message) when Postgres is unreachable.

    `session_state=False` for a service that never leaves state in a session (see
    `TransactionScopedConnection`): its connections go back to the pool without a reset round trip.
    """
    pool = BoundedPool(
        settings.url.get_secret_value(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        # asyncpg's defaults (`create_pool` passes them; the pool's constructor wants them spelled out).
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=_init_connection,
        loop=None,
        connection_class=asyncpg.Connection if session_state else TransactionScopedConnection,
        record_class=asyncpg.Record,
        command_timeout=settings.command_timeout_seconds,
        timeout=settings.connect_timeout_seconds,
        acquire_timeout=settings.acquire_timeout_seconds,
        release_timeout=settings.release_timeout_seconds,
        statement_cache_size=settings.statement_cache_size,
    )
    await pool
    return pool


async def check_pool(pool: asyncpg.Pool, *, bound_seconds: float = PROBE_TIMEOUT_SECONDS) -> str:
    """Readiness probe: one round trip, each wait bounded by `bound_seconds`; returns the server version."""
    try:
        async with pool.acquire(timeout=bound_seconds) as conn:
            version: Any = await conn.fetchval("SHOW server_version", timeout=bound_seconds)
    except TimeoutError as exc:
        message = f"postgres did not answer within {bound_seconds:.1f}s"
        raise UnavailableError(message, details=_details(exc)) from exc
    except Exception as exc:
        if (unavailable := postgres_unavailable(exc)) is None:
            raise
        raise unavailable from exc
    return f"postgres {version}"


def postgres_unavailable(exc: BaseException) -> UnavailableError | None:
    """The 503 for an error saying Postgres is hung, down or unreachable; None for any other error (a
    constraint violation, a bug, another dependency's timeout or socket error)."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, _SERVER_DOWN):
        message = f"postgres is unavailable: {text}"
    elif isinstance(exc, asyncpg.InternalClientError) and "another operation" in str(exc):
        # A connection left mid-operation by a timeout or a restart ("cannot switch to state ...").
        message = f"postgres is unavailable: {text}"
    elif isinstance(exc, asyncpg.InterfaceError) and ("closed" in str(exc) or "closing" in str(exc)):
        # A connection asyncpg closed (after a timeout) used again, e.g. by a transaction's rollback.
        message = f"postgres is unavailable: {text}"
    elif isinstance(exc, TimeoutError) and _raised_in_asyncpg(exc.__traceback__):
        first: BaseException = exc
        while isinstance(first.__context__, TimeoutError):
            first = first.__context__  # a statement's timeout, then the release after it timing out too
        wait = _timed_out_wait(first.__traceback__)
        message = f"postgres did not answer in time ({wait} timeout, {_TIMEOUT_SETTINGS[wait]})"
    elif isinstance(exc, OSError) and _raised_in_asyncpg(exc.__traceback__):
        message = f"postgres is unreachable: {text}"
    else:
        return None
    return UnavailableError(message, details=_details(exc))


def postgres_outage(exc: BaseException) -> bool:
    """Whether `exc` says Postgres is hung, down or unreachable for now: background work that met it may be
    tried again once Postgres answers, rather than recorded as failed."""
    if isinstance(exc, UnavailableError):
        return isinstance(exc.details, dict) and exc.details.get("dependency") == "postgres"
    return postgres_unavailable(exc) is not None


def _details(exc: BaseException) -> dict[str, str]:
    return {"dependency": "postgres", "error": type(exc).__name__}


_TIMEOUT_SETTINGS = {
    "connect": "POSTGRES_CONNECT_TIMEOUT_SECONDS",
    "pool": "POSTGRES_ACQUIRE_TIMEOUT_SECONDS",
    "statement": "POSTGRES_COMMAND_TIMEOUT_SECONDS",
}


def _timed_out_wait(tb: TracebackType | None) -> str:
    """Which wait ran out, from where in asyncpg the timeout came up: an operator tells a hung server (every
    wait) from a pool too small (pool) or one slow statement (statement)."""
    frames: list[tuple[str, str]] = []
    while tb is not None:
        frames.append((str(tb.tb_frame.f_globals.get("__name__", "")), tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    modules = {module for module, _ in frames}
    if "asyncpg.connect_utils" in modules:
        return "connect"
    if "asyncpg.pool" in modules and not any(m.startswith("asyncpg.connection") for m in modules):
        return "pool"
    return "statement"


def _raised_in_asyncpg(tb: TracebackType | None) -> bool:
    # A TimeoutError or OSError is Postgres's when it came up through the driver (a statement, connecting,
    # the pool); the same types from Qdrant, a socket or `asyncio.wait_for` elsewhere are not.
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg."):
            return True
        tb = tb.tb_next
    return False


# User ids are compared and sorted byte-wise (COLLATE "C"), so the order is the same on every database
# whatever its collation, and the `after` cursor agrees with it.
_ACTIVE_PAGE = """
    SELECT user_id FROM ({union}) active
    WHERE $3::text IS NULL OR user_id COLLATE "C" > $3::text COLLATE "C"
    ORDER BY user_id COLLATE "C" LIMIT $4"""


class ActiveUsersQuery:
    """Who had anything in a window (`GET /v1/users/active`): `union` selects the `user_id` of every row
    active in [$1, $2) of the service's own tables; the page after `after` comes back sorted."""

    def __init__(self, pool: asyncpg.Pool, *, union: str) -> None:
        self._pool = pool
        self._sql = _ACTIVE_PAGE.format(union=union)

    async def active_users(self, since: datetime, until: datetime, *, after: str | None, limit: int) -> list[str]:
        """Up to `limit` user ids active in [since, until), after `after`, sorted."""
        rows = await self._pool.fetch(self._sql, since, until, after, limit)
        return [row["user_id"] for row in rows]


async def delete_user_rows(pool: asyncpg.Pool, user_id: str, tables: Sequence[str]) -> dict[str, int]:
    """Delete the user's rows from `tables` (children before parents) in one transaction; counts per table.

    Each service passes only the tables it owns (DELETE /v1/users/{user_id})."""
    counts: dict[str, int] = {}
    async with pool.acquire() as conn, conn.transaction():
        for table in tables:
            status = await conn.execute(f"DELETE FROM {table} WHERE user_id = $1", user_id)
            counts[table] = int(status.split()[-1])
    return counts
