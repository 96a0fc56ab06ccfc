"""Real servers from PyPI wheels (Postgres 18 + pgvector, Valkey 8), run as child processes on loopback."""

from pma_core.embedded.postgres import EmbeddedPostgres
from pma_core.embedded.valkey import EmbeddedValkey

__all__ = ["EmbeddedPostgres", "EmbeddedValkey"]
