"""Apply `migrations/NNN_name.sql` files in order, exactly once, safely from many processes at once.

- Each applied file is recorded in `schema_migrations` with a SHA-256 checksum of its text.
- A file that changed after it was applied stops the run (and so the service): editing history silently
  would leave databases that claim the same version but differ. The fix is a new numbered migration.
- A session-level advisory lock serialises runners, so four services starting together never race.
- Numbering starts wherever the directory starts: the user's Postgres has its own `001`, so ours is `002`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

_log = logging.getLogger(__name__)

# Any fixed 64-bit number works, as long as every runner uses the same one.
ADVISORY_LOCK_KEY = 0x504D415F4D494752  # "PMA_MIGR"
_FILE_PATTERN = re.compile(r"^(?P<version>\d{3,})_(?P<name>[A-Za-z0-9_]+)\.sql$")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL
)
"""


class MigrationError(RuntimeError):
    """The migrations directory or the database ledger is not in a state we may migrate from."""


class MigrationChecksumError(MigrationError):
    """An applied migration file has been edited since it ran."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str
    checksum: str


@dataclass
class MigrationReport:
    applied: list[str] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    unknown_in_database: list[str] = field(default_factory=list)


def checksum_of(sql: str) -> str:
    # Line endings are normalised so a checkout with CRLF endings is not mistaken for an edit.
    return hashlib.sha256(sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def default_migrations_dir() -> Path:
    """The repository's `migrations/`: next to the workspace in a checkout, or under the working directory."""
    here = Path(__file__).resolve()
    candidates = [here.parents[4] / "migrations"] if len(here.parents) > 4 else []
    candidates.append(Path.cwd() / "migrations")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise MigrationError("no migrations directory found; set POSTGRES_MIGRATIONS_DIR")


def discover(directory: Path) -> list[Migration]:
    """Read every `NNN_name.sql` in `directory`, ordered by number; refuse strays and duplicate numbers."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_PATTERN.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files must be named NNN_name.sql")
        number = int(match["version"])  # 002 and 0002 are the same version
        if number in migrations:
            clash = migrations[number].path.name
            raise MigrationError(f"{path.name} and {clash} share version {number}")
        sql = path.read_text(encoding="utf-8")
        migrations[number] = Migration(match["version"], match["name"], path, sql, checksum_of(sql))
    return [migrations[number] for number in sorted(migrations)]


async def migrate(dsn: str, directory: Path) -> MigrationReport:
    """Apply the pending migrations in `directory` to `dsn`, each file in its own transaction."""
    migrations = discover(directory)
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        try:
            return await _migrate_locked(conn, migrations)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    finally:
        await conn.close()


async def _migrate_locked(conn: asyncpg.Connection, migrations: list[Migration]) -> MigrationReport:
    await conn.execute(_CREATE_LEDGER)
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    ledger: dict[str, str] = {row["version"]: row["checksum"] for row in rows}
    _verify_applied(migrations, ledger)
    report = MigrationReport()
    known = {m.version for m in migrations}
    report.unknown_in_database = sorted(v for v in ledger if v not in known)
    if report.unknown_in_database:
        # A newer release ran here first (e.g. during a rolling deploy); we leave its work alone.
        _log.warning("database has migrations this release does not know: %s", report.unknown_in_database)
    for migration in migrations:
        if migration.version in ledger:
            report.already_applied.append(migration.path.name)
            continue
        await _apply(conn, migration)
        report.applied.append(migration.path.name)
    return report


def _verify_applied(migrations: list[Migration], ledger: dict[str, str]) -> None:
    for migration in migrations:
        recorded = ledger.get(migration.version)
        if recorded is not None and recorded != migration.checksum:
            raise MigrationChecksumError(
                f"{migration.path.name} was changed after it was applied "
                f"(recorded checksum {recorded[:12]}, file now {migration.checksum[:12]}). "
                "Restore the file and put the change in a new numbered migration."
            )


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute(migration.sql)
        duration_ms = int((time.perf_counter() - started) * 1000)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)",
            migration.version,
            migration.name,
            migration.checksum,
            duration_ms,
        )
    _log.info("applied migration", extra={"migration": migration.path.name, "duration_ms": duration_ms})
