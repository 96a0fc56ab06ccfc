"""Building reflections: gather a user's recorded activity, compute the metrics, word them, store them once
per (user, period, kind), and hand delivery (Coda, the daily thread, insights) to `Delivery`.

A rerun rebuilds from the records and updates the same reflection; when nothing changed it keeps the
narrative it had (no second LLM call) and is not delivered again. Two triggers at once are serialised by
the store's lock, so they produce one reflection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import date, datetime, timedelta
from typing import Any

from observer_agent.domain.daily import LOOKBACK_DAYS, daily_metrics
from observer_agent.domain.insights import INSIGHT_WINDOW_DAYS, derive
from observer_agent.domain.models import Draft, Written
from observer_agent.domain.periods import begun_somewhere, checked_day, checked_week, week_days, week_monday, week_of
from observer_agent.domain.ports import ActivitySource, ChartRenderer, Narrator, ReflectionStore
from observer_agent.domain.weekly import weekly_metrics
from pma_core.clock import Clock
from pma_core.contracts.insights import EstimateFactorInsight
from pma_core.contracts.reflections import (
    DailyMetrics,
    DefaultDay,
    ReflectionFailure,
    ReflectionKind,
    ReflectionRead,
    ReflectionRunRead,
    WeeklyMetrics,
)
from pma_core.errors import AppError

# Users are reflected on a few at a time: each one is several calls to the other services.
USER_CONCURRENCY = 3


def _same_figures(existing: ReflectionRead | None, metrics: DailyMetrics | WeeklyMetrics) -> bool:
    return existing is not None and existing.metrics.model_dump(mode="json") == metrics.model_dump(mode="json")


def _kept(existing: ReflectionRead) -> Written:
    return Written(
        narrative=existing.narrative,
        source=existing.narrative_source,
        model=existing.model,
        template=existing.prompt_template,
        warnings=[w for w in existing.warnings if w.startswith("narrative:")],
    )


class Reflector:
    def __init__(
        self,
        *,
        activity: ActivitySource,
        store: ReflectionStore,
        narrator: Narrator,
        chart: ChartRenderer,
        chart_prefix: str,
        deliver: Callable[[ReflectionRead], Coroutine[Any, Any, None]],
        after: Callable[[Coroutine[Any, Any, None]], object],
        clock: Clock,
    ) -> None:
        self.activity, self.store, self.narrator, self.chart = activity, store, narrator, chart
        self.chart_prefix, self.deliver, self.after, self.clock = chart_prefix, deliver, after, clock

    async def daily(self, user_id: str, day: date | None, default_day: DefaultDay = "yesterday") -> ReflectionRead:
        calendar = await self.activity.calendar(user_id)
        chosen = checked_day(day, now=self.clock(), zone=calendar.zone, default=default_day)
        period = chosen.isoformat()
        async with self.store.lock(f"{user_id}|{period}|daily") as store:
            existing = await store.find(user_id, "daily", period)
            past = await store.daily_history(user_id, before=chosen, days=LOOKBACK_DAYS + 7)
            activity = await self.activity.gather(user_id, calendar, chosen, chosen)
            metrics = daily_metrics(activity, chosen, past)
            written = _kept(existing) if existing and _same_figures(existing, metrics) else None
            written = written or await self.narrator.write(metrics, activity)
            draft = Draft(
                user_id=user_id, kind="daily", period=period, period_start=chosen, period_end=chosen,
                time_zone=calendar.zone.key, metrics=metrics.model_dump(mode="json"), written=written,
                warnings=[*_source_warnings(metrics.sources), *written.warnings],
            )  # fmt: skip
            saved = await store.save(draft, chart_prefix=None)
        self.after(self.deliver(saved))
        return saved

    async def weekly(self, user_id: str, week: str | None) -> ReflectionRead:
        calendar = await self.activity.calendar(user_id)
        chosen = checked_week(week, now=self.clock(), zone=calendar.zone)
        days = week_days(chosen)
        previous = week_of(days[0] - timedelta(days=7))
        async with self.store.lock(f"{user_id}|{chosen}|weekly") as store:
            existing = await store.find(user_id, "weekly", chosen)
            first = days[-1] - timedelta(days=INSIGHT_WINDOW_DAYS - 1)
            activity = await self.activity.gather(user_id, calendar, first, days[-1])
            metrics = weekly_metrics(activity, chosen, previous)
            known = await store.last_insights(user_id, before=days[0])
            tags = {i.tag for i in known if isinstance(i, EstimateFactorInsight)}
            insights = derive(activity, days[-1], now=self.clock(), known_tags=tags)
            written = _kept(existing) if existing and _same_figures(existing, metrics) else None
            written = written or await self.narrator.write(metrics, activity)
            draft = Draft(
                user_id=user_id, kind="weekly", period=chosen, period_start=days[0], period_end=days[-1],
                time_zone=calendar.zone.key, metrics=metrics.model_dump(mode="json"), written=written,
                insights=insights, chart_svg=self.chart.render(metrics),
                warnings=[*_source_warnings(metrics.sources), *written.warnings],
            )  # fmt: skip
            saved = await store.save(draft, chart_prefix=self.chart_prefix)
        self.after(self.deliver(saved))
        return saved

    async def for_everyone(
        self, kind: ReflectionKind, *, day: date | None, week: str | None, default_day: DefaultDay = "yesterday"
    ) -> ReflectionRunRead:
        """A reflection for every user with activity around the period (each in their own time zone)."""
        since, until = self._window(kind, day=day, week=week, default_day=default_day)
        users = await self.activity.active_users(since, until)
        gate = asyncio.Semaphore(USER_CONCURRENCY)

        async def one(user_id: str) -> ReflectionRead | ReflectionFailure:
            async with gate:
                try:
                    if kind == "daily":
                        return await self.daily(user_id, day, default_day)
                    return await self.weekly(user_id, week)
                except AppError as exc:
                    return ReflectionFailure(user_id=user_id, status=exc.status_code, error=exc.message)

        outcomes = await asyncio.gather(*(one(user) for user in users))
        return ReflectionRunRead(
            reflections=[o for o in outcomes if isinstance(o, ReflectionRead)],
            failed=[o for o in outcomes if isinstance(o, ReflectionFailure)],
        )

    def _window(
        self, kind: ReflectionKind, *, day: date | None, week: str | None, default_day: DefaultDay
    ) -> tuple[datetime, datetime]:
        """A UTC window that holds the period in every time zone (UTC-12..UTC+14), so no user is missed."""
        now = self.clock()
        # Checked before any date arithmetic: the window of a day near 9999-12-31 would overflow `date`.
        if kind == "daily":
            fallback = now.date() if default_day == "today" else (now - timedelta(days=1)).date()
            first = last = day if day is not None else fallback
            begun_somewhere(first, field="date", label=str(first), now=now)
        else:
            chosen = week if week is not None else week_of((now - timedelta(days=1)).date())
            begun_somewhere(week_monday(chosen), field="week", label=chosen, now=now)
            days = week_days(chosen)
            first, last = days[0], days[-1]
        start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo) - timedelta(hours=14)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo) + timedelta(hours=12)
        return start, max(start + timedelta(minutes=1), min(end, now + timedelta(minutes=1)))


def _source_warnings(sources: dict[str, str]) -> list[str]:
    return [f"{name}: {state}" for name, state in sorted(sources.items()) if state != "ok"]
