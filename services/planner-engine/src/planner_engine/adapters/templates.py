"""All SQL on prompt templates: the active version of a name, its versions, new versions, activation.

Templates are system-wide (user_id 'system'): they are the product's prompts, edited by its operator.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from planner_engine.adapters.rows import read_model
from planner_engine.domain.prompts import PromptTemplate
from pma_core.contracts.library import PromptTemplateCreate, PromptTemplateRead
from pma_core.errors import NotFoundError

_COLUMNS = "id, name, version, body, variables, model, active, description, created_at"


def _read(row: asyncpg.Record | None) -> PromptTemplateRead:
    return read_model(PromptTemplateRead, row)


class TemplateRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def active(self, name: str) -> PromptTemplate:
        """The version in use; a missing one means migrations did not run (a server error, not a 404)."""
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM prompt_templates WHERE name = $1 AND active", name)
        if row is None:
            raise RuntimeError(f"no active prompt template {name}: are the migrations applied?")
        return PromptTemplate(
            id=row["id"], name=name, version=row["version"], body=row["body"], variables=row["variables"],
            model=row["model"],
        )  # fmt: skip

    async def list_active(self) -> list[PromptTemplateRead]:
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM prompt_templates WHERE active ORDER BY name")
        return [_read(row) for row in rows]

    async def versions(self, name: str) -> list[PromptTemplateRead]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM prompt_templates WHERE name = $1 ORDER BY version DESC", name
        )
        if not rows:
            raise NotFoundError(f"no prompt template named {name}", details={"name": name})
        return [_read(row) for row in rows]

    async def create_version(self, name: str, new: PromptTemplateCreate) -> PromptTemplateRead:
        """The next version of `name`, a prompt a migration seeded (404 otherwise); active at once when asked."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('prompt_templates/' || $1, 0))", name)
            version = await conn.fetchval(
                "SELECT coalesce(max(version), 0) + 1 FROM prompt_templates WHERE name = $1", name
            )
            if version == 1:
                # Every prompt a service reads is seeded by a migration: a new name would be read by nobody.
                known = await conn.fetchval("SELECT array_agg(DISTINCT name ORDER BY name) FROM prompt_templates")
                raise NotFoundError(
                    f"no prompt template named {name}; the prompts are: {', '.join(known or [])}",
                    details={"name": name, "known": known or []},
                )
            if new.activate:
                await conn.execute("UPDATE prompt_templates SET active = false WHERE name = $1 AND active", name)
            row = await conn.fetchrow(
                f"""INSERT INTO prompt_templates (name, version, body, variables, model, active, description)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}""",
                name, version, new.body, new.variables, new.model, new.activate, new.description,
            )  # fmt: skip
            return _read(row)

    async def activate(self, name: str, version: int) -> PromptTemplateRead:
        async with self._pool.acquire() as conn, conn.transaction():
            template_id: UUID | None = await conn.fetchval(
                "SELECT id FROM prompt_templates WHERE name = $1 AND version = $2 FOR UPDATE", name, version
            )
            if template_id is None:
                raise NotFoundError(f"no version {version} of prompt template {name}", details={"name": name})
            await conn.execute("UPDATE prompt_templates SET active = false WHERE name = $1 AND active", name)
            row = await conn.fetchrow(
                f"UPDATE prompt_templates SET active = true WHERE id = $1 RETURNING {_COLUMNS}", template_id
            )
            return _read(row)
