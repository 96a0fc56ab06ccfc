"""What a reflection is built from: one user's recorded activity over a span of local days.

The values are the other services' own contracts (read through their HTTP APIs); this module only
groups them, with the user's time zone and scheduling profile that give "a day" its meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from uuid import UUID
from zoneinfo import ZoneInfo

from pma_core.contracts.events import EventRead
from pma_core.contracts.executions import ExecutionRead
from pma_core.contracts.plans import PlanRead
from pma_core.contracts.reflections import (
    Insight,
    Narrative,
    NarrativeSource,
    ReflectionKind,
    TemplateUsed,
    reflection_key,
)
from pma_core.contracts.scheduling import BlockRead, SchedulingProfile
from pma_core.contracts.tasks import TaskRead


@dataclass(frozen=True, slots=True)
class Span:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds() / 60)

    def clip(self, other: Span) -> Span | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Span(start, end) if end > start else None


@dataclass(frozen=True, slots=True)
class UserCalendar:
    """Who the user is in time: their zone and the working week of their scheduling profile."""

    zone: ZoneInfo
    profile: SchedulingProfile


@dataclass(frozen=True)
class Activity:
    """Everything recorded for a user over [first, last] local days (inclusive)."""

    user_id: str
    calendar: UserCalendar
    first: date
    last: date
    blocks: Sequence[BlockRead] = ()
    tasks: dict[UUID, TaskRead] = field(default_factory=dict)
    executions: Sequence[ExecutionRead] = ()
    busy: Sequence[Span] = ()
    events: Sequence[EventRead] = ()
    plans: Sequence[PlanRead] = ()
    # Which inputs were read ("ok") or why one could not be ("unavailable: ...").
    sources: dict[str, str] = field(default_factory=dict)

    @cached_property
    def runs_by_task(self) -> dict[UUID, list[ExecutionRead]]:
        """Each task's runs: the figures ask "was this task worked on?" once per block and per task."""
        runs: dict[UUID, list[ExecutionRead]] = {}
        for run in self.executions:
            if run.task_id is not None:
                runs.setdefault(run.task_id, []).append(run)
        return runs


@dataclass(frozen=True)
class Written:
    """A narrative and where it came from."""

    narrative: Narrative
    source: NarrativeSource
    model: str | None = None
    template: TemplateUsed | None = None
    warnings: Sequence[str] = ()


@dataclass(frozen=True)
class Draft:
    """A reflection ready to store: its identity, figures, words and findings."""

    user_id: str
    kind: ReflectionKind
    period: str
    period_start: date
    period_end: date
    time_zone: str
    metrics: dict[str, object]
    written: Written
    insights: Sequence[Insight] = ()
    chart_svg: str | None = None
    warnings: Sequence[str] = ()

    @property
    def key(self) -> str:
        return reflection_key(self.user_id, self.period, self.kind)
