"""All SQL on reflections: the upsert by (user, kind, period), reads, the build lock, and the bookkeeping
of what each reflection still owes (Coda row, daily thread, insights), leased so replicas never collide."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from observer_agent.domain.models import Draft
from observer_agent.domain.ports import Pending
from pma_core.contracts.insights import INSIGHT_ADAPTER
from pma_core.contracts.reflections import (
    DailyMetrics,
    Insight,
    Narrative,
    Posting,
    ReflectionKind,
    ReflectionRead,
    TemplateUsed,
    WeeklyMetrics,
    reflection_key,
)
from pma_core.errors import NotFoundError

# A weekly chart's link is `<prefix><reflection id>.svg`: the id (random, 122 bits) is the link's secret, as
# the feed token is the ICS feed's, so Coda (and a browser) can fetch it without a bearer token.
_UPSERT = """
    WITH fresh AS (SELECT gen_random_uuid() AS id)
    INSERT INTO reflections AS r (id, user_id, kind, period, period_start, period_end, time_zone, metrics,
        narrative, narrative_source, model, prompt_template, insights, warnings, chart_svg, chart_url,
        content_hash)
    SELECT fresh.id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
        $15::text || fresh.id::text || '.svg', $16
    FROM fresh
    ON CONFLICT (user_id, kind, period) DO UPDATE SET
        period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end, time_zone = EXCLUDED.time_zone,
        metrics = EXCLUDED.metrics, narrative = EXCLUDED.narrative, narrative_source = EXCLUDED.narrative_source,
        model = EXCLUDED.model, prompt_template = EXCLUDED.prompt_template, insights = EXCLUDED.insights,
        warnings = EXCLUDED.warnings, chart_svg = EXCLUDED.chart_svg, chart_url = $15::text || r.id::text || '.svg',
        content_hash = EXCLUDED.content_hash,
        revision = r.revision + CASE WHEN r.content_hash = EXCLUDED.content_hash THEN 0 ELSE 1 END,
        updated_at = CASE WHEN r.content_hash = EXCLUDED.content_hash THEN r.updated_at ELSE now() END
    RETURNING *"""
_OWED = """(coda_posted_hash IS DISTINCT FROM content_hash AND $3)
    OR indexed_hash IS DISTINCT FROM content_hash
    OR (kind = 'weekly' AND jsonb_array_length(insights) > 0 AND remembered_hash IS DISTINCT FROM content_hash)"""
_CLAIM = f"""
    UPDATE reflections SET claimed_until = now() + make_interval(secs => $2)
    WHERE id IN (SELECT id FROM reflections
                 WHERE ({_OWED}) AND (claimed_until IS NULL OR claimed_until < now())
                 ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING id"""
# A failed post waits before the sweep tries again: 30 s, doubling per attempt, at most an hour.
_POSTING_FAILED = """
    UPDATE reflections SET coda_error = $2, coda_attempts = coda_attempts + 1,
        claimed_until = now() + make_interval(secs => least(3600, 30 * power(2, least(coda_attempts, 7))))
    WHERE id = $1"""


def _content_hash(draft: Draft, chart_prefix: str | None) -> str:
    content = {
        "metrics": draft.metrics,
        "narrative": draft.written.narrative.model_dump(mode="json"),
        "insights": [i.model_dump(mode="json") for i in draft.insights],
        "chart_url": chart_prefix,  # the rest of the link is the row's id, which never changes
        "warnings": list(draft.warnings),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _posting(row: asyncpg.Record) -> Posting:
    current = row["content_hash"]
    if row["coda_posted_hash"] == current:
        status = "posted"
    elif row["coda_request_id"] and row["coda_pending_hash"] == current:
        status = "pending"
    else:
        status = "unposted"
    return Posting(
        status=status,
        request_id=row["coda_request_id"],
        posted_at=row["coda_posted_at"],
        attempts=row["coda_attempts"],
        error=row["coda_error"],
    )


def reflection_read(row: asyncpg.Record) -> ReflectionRead:
    metrics: DailyMetrics | WeeklyMetrics = (
        DailyMetrics.model_validate(row["metrics"])
        if row["kind"] == "daily"
        else WeeklyMetrics.model_validate(row["metrics"])
    )
    template = row["prompt_template"]
    return ReflectionRead(
        id=row["id"], user_id=row["user_id"], kind=row["kind"], period=row["period"],
        period_start=row["period_start"], period_end=row["period_end"],
        key=reflection_key(row["user_id"], row["period"], row["kind"]), metrics=metrics,
        narrative=Narrative.model_validate(row["narrative"]), narrative_source=row["narrative_source"],
        model=row["model"], prompt_template=TemplateUsed.model_validate(template) if template else None,
        insights=[INSIGHT_ADAPTER.validate_python(i) for i in row["insights"]], chart_url=row["chart_url"],
        posting=_posting(row), indexed=row["indexed_hash"] == row["content_hash"], warnings=row["warnings"],
        revision=row["revision"], created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


class ReflectionRepository:
    def __init__(self, pool: asyncpg.Pool, *, posting_configured: bool, connection: Any = None) -> None:
        self._root = pool
        # Under a lock, every statement goes through the connection that holds it: a build then needs one
        # connection, not two, so builds at once can never wait on each other for the pool.
        self._pool = connection if connection is not None else pool
        self._posting = posting_configured

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[ReflectionRepository]:
        """A session advisory lock on its own connection (released on exit, or by Postgres if the connection
        drops), and this repository bound to that connection."""
        async with self._root.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", f"observer:{key}")
            try:
                yield ReflectionRepository(self._root, posting_configured=self._posting, connection=connection)
            finally:
                await connection.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", f"observer:{key}")

    async def daily_history(self, user_id: str, *, before: date, days: int) -> dict[date, DailyMetrics]:
        rows = await self._pool.fetch(
            "SELECT period_start, metrics FROM reflections WHERE user_id = $1 AND kind = 'daily'"
            " AND period_start >= $2 AND period_start < $3",
            user_id, before - timedelta(days=days), before,
        )  # fmt: skip
        return {row["period_start"]: DailyMetrics.model_validate(row["metrics"]) for row in rows}

    async def last_insights(self, user_id: str, *, before: date) -> list[Insight]:
        insights = await self._pool.fetchval(
            "SELECT insights FROM reflections WHERE user_id = $1 AND kind = 'weekly' AND period_start < $2"
            " ORDER BY period_start DESC LIMIT 1",
            user_id, before,
        )  # fmt: skip
        return [INSIGHT_ADAPTER.validate_python(i) for i in insights or []]

    async def find(self, user_id: str, kind: ReflectionKind, period: str) -> ReflectionRead | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM reflections WHERE user_id = $1 AND kind = $2 AND period = $3", user_id, kind, period
        )
        return reflection_read(row) if row else None

    async def save(self, draft: Draft, *, chart_prefix: str | None) -> ReflectionRead:
        written = draft.written
        template = written.template.model_dump() if written.template else None
        row = await self._pool.fetchrow(
            _UPSERT, draft.user_id, draft.kind, draft.period, draft.period_start, draft.period_end,
            draft.time_zone, draft.metrics, written.narrative.model_dump(mode="json"), written.source,
            written.model, template, [i.model_dump(mode="json") for i in draft.insights], list(draft.warnings),
            draft.chart_svg, chart_prefix, _content_hash(draft, chart_prefix),
        )  # fmt: skip
        if row is None:
            raise RuntimeError("the upsert returned no row")
        return reflection_read(row)

    async def get(self, user_id: str, reflection_id: UUID) -> ReflectionRead:
        row = await self._pool.fetchrow(
            "SELECT * FROM reflections WHERE id = $1 AND user_id = $2", reflection_id, user_id
        )
        if row is None:
            raise NotFoundError(f"reflection {reflection_id} not found")
        return reflection_read(row)

    async def between(
        self, user_id: str, *, start: date | None, end: date | None, kind: ReflectionKind | None, limit: int
    ) -> list[ReflectionRead]:
        rows = await self._pool.fetch(
            "SELECT * FROM reflections WHERE user_id = $1 AND ($2::date IS NULL OR period_end >= $2)"
            " AND ($3::date IS NULL OR period_start <= $3) AND ($4::text IS NULL OR kind = $4)"
            " ORDER BY period_start DESC, kind LIMIT $5",
            user_id, start, end, kind, limit,
        )  # fmt: skip
        return [reflection_read(row) for row in rows]

    async def chart(self, user_id: str, week: str) -> str | None:
        svg: str | None = await self._pool.fetchval(
            "SELECT chart_svg FROM reflections WHERE user_id = $1 AND kind = 'weekly' AND period = $2", user_id, week
        )
        return svg

    async def chart_by_id(self, reflection_id: UUID) -> str | None:
        svg: str | None = await self._pool.fetchval(
            "SELECT chart_svg FROM reflections WHERE id = $1 AND kind = 'weekly'", reflection_id
        )
        return svg

    async def pending(self, reflection_id: UUID) -> Pending | None:
        row = await self._pool.fetchrow("SELECT * FROM reflections WHERE id = $1", reflection_id)
        if row is None:
            return None
        current = row["content_hash"]
        reflection = reflection_read(row)
        post = row["coda_posted_hash"] != current
        index = row["indexed_hash"] != current
        remember = row["kind"] == "weekly" and bool(row["insights"]) and row["remembered_hash"] != current
        if not (post or index or remember):
            return None
        request_id = row["coda_request_id"] if row["coda_pending_hash"] == current else None
        return Pending(reflection, current, post=post, index=index, remember=remember, request_id=request_id)

    async def claim(self, *, limit: int, lease_seconds: float) -> list[UUID]:
        rows = await self._pool.fetch(_CLAIM, limit, lease_seconds, self._posting)
        return [row["id"] for row in rows]

    async def claim_one(self, reflection_id: UUID, *, lease_seconds: float) -> bool:
        claimed = await self._pool.fetchval(
            "UPDATE reflections SET claimed_until = now() + make_interval(secs => $2)"
            " WHERE id = $1 AND (claimed_until IS NULL OR claimed_until < now()) RETURNING id",
            reflection_id, lease_seconds,
        )  # fmt: skip
        return claimed is not None

    async def release(self, reflection_id: UUID) -> None:
        await self._execute(
            "UPDATE reflections SET claimed_until = NULL WHERE id = $1 AND coda_error IS NULL", reflection_id
        )

    async def posting_started(self, reflection_id: UUID, *, request_id: str, content_hash: str) -> None:
        await self._execute(
            "UPDATE reflections SET coda_request_id = $2, coda_pending_hash = $3, coda_attempts = coda_attempts + 1,"
            " coda_error = NULL WHERE id = $1",
            reflection_id, request_id, content_hash,
        )  # fmt: skip

    async def posted(self, reflection_id: UUID, *, content_hash: str) -> None:
        await self._execute(
            "UPDATE reflections SET coda_posted_hash = $2, coda_posted_at = now(), coda_error = NULL WHERE id = $1",
            reflection_id, content_hash,
        )  # fmt: skip

    async def posting_failed(self, reflection_id: UUID, *, error: str) -> None:
        await self._execute(_POSTING_FAILED, reflection_id, error[:1000])

    async def indexed(self, reflection_id: UUID, *, content_hash: str) -> None:
        await self._execute("UPDATE reflections SET indexed_hash = $2 WHERE id = $1", reflection_id, content_hash)

    async def remembered(self, reflection_id: UUID, *, content_hash: str) -> None:
        await self._execute("UPDATE reflections SET remembered_hash = $2 WHERE id = $1", reflection_id, content_hash)

    async def _execute(self, sql: str, *args: Any) -> None:
        await self._pool.execute(sql, *args)
