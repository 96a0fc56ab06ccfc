"""What the observer's domain needs from the world, as Protocols its adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol
from uuid import UUID

from observer_agent.domain.coda_rows import ThreadRow
from observer_agent.domain.models import Activity, Draft, UserCalendar, Written
from pma_core.contracts.reflections import DailyMetrics, Insight, ReflectionKind, ReflectionRead, WeeklyMetrics


class ActivitySource(Protocol):
    """The other services' records, read over their HTTP APIs. Planner or scheduler down: UnavailableError."""

    async def calendar(self, user_id: str) -> UserCalendar: ...

    async def gather(self, user_id: str, calendar: UserCalendar, first: date, last: date) -> Activity: ...

    async def active_users(self, since: datetime, until: datetime) -> list[str]: ...


@dataclass(frozen=True)
class Pending:
    """A reflection whose delivery is not complete: which of its side effects are still owed."""

    reflection: ReflectionRead
    content_hash: str
    post: bool
    index: bool
    remember: bool
    request_id: str | None


class ReflectionStore(Protocol):
    def lock(self, key: str) -> AbstractAsyncContextManager[ReflectionStore]:
        """Serialise builds of one reflection across requests and replicas; the store to build with."""
        ...

    async def daily_history(self, user_id: str, *, before: date, days: int) -> dict[date, DailyMetrics]: ...

    async def last_insights(self, user_id: str, *, before: date) -> list[Insight]: ...

    async def find(self, user_id: str, kind: ReflectionKind, period: str) -> ReflectionRead | None: ...

    async def save(self, draft: Draft, *, chart_prefix: str | None) -> ReflectionRead:
        """Upsert by (user, kind, period): a changed reflection gets revision + 1 and is owed delivery again.
        With a `chart_prefix`, its chart's link is the prefix, its id and `.svg`."""
        ...

    async def get(self, user_id: str, reflection_id: UUID) -> ReflectionRead: ...

    async def between(
        self, user_id: str, *, start: date | None, end: date | None, kind: ReflectionKind | None, limit: int
    ) -> list[ReflectionRead]: ...

    async def chart(self, user_id: str, week: str) -> str | None: ...

    async def chart_by_id(self, reflection_id: UUID) -> str | None: ...

    async def pending(self, reflection_id: UUID) -> Pending | None: ...

    async def claim(self, *, limit: int, lease_seconds: float) -> list[UUID]:
        """Reflections owing delivery, leased to this caller so two replicas never deliver one at once."""
        ...

    async def claim_one(self, reflection_id: UUID, *, lease_seconds: float) -> bool:
        """Lease one reflection for delivery; False when another delivery holds it."""
        ...

    async def release(self, reflection_id: UUID) -> None:
        """End a lease (a failed post keeps its back-off instead)."""
        ...

    async def posting_started(self, reflection_id: UUID, *, request_id: str, content_hash: str) -> None: ...

    async def posted(self, reflection_id: UUID, *, content_hash: str) -> None: ...

    async def posting_failed(self, reflection_id: UUID, *, error: str) -> None: ...

    async def indexed(self, reflection_id: UUID, *, content_hash: str) -> None: ...

    async def remembered(self, reflection_id: UUID, *, content_hash: str) -> None: ...


class Narrator(Protocol):
    async def write(self, metrics: DailyMetrics | WeeklyMetrics, activity: Activity) -> Written: ...


class ChartRenderer(Protocol):
    def render(self, metrics: WeeklyMetrics) -> str: ...


MutationState = Literal["completed", "pending", "missing"]


class PosterBusy(Exception):  # noqa: N818 - a state the caller plans for (try later), not a fault
    """The poster could not start the call within the time it was given (its own rate limit is taken by
    other calls): nothing was sent, so the post simply stays owed."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"the next free slot is {wait_seconds:.1f} s away")
        self.wait_seconds = wait_seconds


class ThreadPoster(Protocol):
    """The Coda Daily Thread table. `within`: start the call within that many seconds or raise `PosterBusy`
    (None: wait for its turn however long)."""

    @property
    def configured(self) -> bool: ...

    async def upsert(self, row: ThreadRow, *, within: float | None = None) -> str: ...

    async def mutation_status(self, request_id: str, *, within: float | None = None) -> MutationState: ...


class ReflectionMemory(Protocol):
    """The memory-gateway: the reflection's daily thread, and its insights as memories."""

    async def index(self, reflection: ReflectionRead) -> None: ...

    async def remember(self, reflection: ReflectionRead, insights: Sequence[Insight]) -> None: ...

    async def similar(self, reflection: ReflectionRead, *, limit: int) -> list[tuple[ReflectionKind, str, float]]:
        """(kind, period, score) of the user's most similar other reflections."""
        ...
