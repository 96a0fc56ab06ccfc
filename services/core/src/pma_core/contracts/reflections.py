"""The observer-agent's contract: daily and weekly reflections, their metrics, narrative and posting state.

Every figure in `metrics` is computed from recorded data (plans, tasks, blocks, executions, events); only
the narrative may come from an LLM, and it only words what the metrics and the evidence say.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from pma_core.contracts.common import IsoDate, RequestModel, UserId
from pma_core.contracts.insights import EstimateFactorInsight, LowOutputHoursInsight

ReflectionKind = Literal["daily", "weekly"]
NarrativeSource = Literal["llm", "offline"]
PostingStatus = Literal["unposted", "pending", "posted"]
# Which local day a daily trigger reflects on when it names none: a morning cron wants the day that
# ended, an evening cron (n8n's, at 21:30) the day that is ending.
DefaultDay = Literal["yesterday", "today"]
MAX_SUGGESTIONS = 3

# Reflections start on 1 January 2000: no earlier day or week is reflected on (a date before it is a typo,
# and datetime cannot hold the UTC window of a day near year 1).
EARLIEST_DAY = date(2000, 1, 1)
# ASCII digits only ([0-9], not Python's \d, which takes any script's digits as int() does).
_ISO_WEEK = re.compile(r"^(?P<year>[0-9]{4})-W(?P<week>[0-9]{2})$")
_ISO_DAY_PATTERN = r"^[2-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"  # beside `format: date`: from year 2000


def _has_week_53(year: int) -> bool:
    return date(year, 12, 28).isocalendar().week == 53  # 28 December is always in the year's last week


def _iso_week_pattern() -> str:
    """The ISO weeks from 2000-W01 that exist, as a regular expression (so the OpenAPI says what is taken).

    Weeks 01..52 exist every year; week 53 only in the years whose calendar gives it one. The Gregorian
    calendar repeats every 400 years, so a year has a week 53 by its century modulo 4 and its last two
    digits: one alternative per century class, each listing the two-digit years with a week 53.
    """
    # The centuries 20..99 by their remainder modulo 4, as a regular expression of two digits.
    centuries = {0: "[2468][048]|[3579][26]", 1: "[2468][159]|[3579][37]", 2: "[2468][26]|[3579][048]",
                 3: "[2468][37]|[3579][159]"}  # fmt: skip
    long_years = [
        f"(?:{centuries[c]})(?:{'|'.join(f'{y:02d}' for y in range(100) if _has_week_53(2000 + 100 * c + y))})"
        for c in range(4)
    ]
    return rf"^(?:[2-9][0-9]{{3}}-W(?:0[1-9]|[1-4][0-9]|5[0-2])|(?:{'|'.join(long_years)})-W53)$"


ISO_WEEK_PATTERN = _iso_week_pattern()


def parse_iso_week(value: str) -> tuple[int, int]:
    """("2026-W48") -> (2026, 48); a week the year does not have (W00, W54, W53 of a 52-week year) is refused.

    Any year from 1 parses (the week before 2000-W01 is 1999-W52, a weekly trend's "week before"); what a
    client may send is `IsoWeek`, from 2000-W01."""
    match = _ISO_WEEK.fullmatch(value)
    if match is None:
        raise ValueError("expected an ISO week such as 2026-W48")
    year, week = int(match["year"]), int(match["week"])
    if year < 1:
        raise ValueError(f"{value}: there is no year 0")
    weeks_in_year = 53 if _has_week_53(year) else 52
    if not 1 <= week <= weeks_in_year:
        raise ValueError(f"{year} has ISO weeks 1..{weeks_in_year}, not {week}")
    return year, week


def _valid_week(value: str) -> str:
    match = _ISO_WEEK.fullmatch(value)
    if match is not None and int(match["year"]) < EARLIEST_DAY.year:
        raise ValueError(f"{value} is before {EARLIEST_DAY.year}-W01: reflections start in {EARLIEST_DAY.year}")
    parse_iso_week(value)
    return value


def _not_before_earliest(value: date) -> date:
    if value < EARLIEST_DAY:
        raise ValueError(f"{value} is before {EARLIEST_DAY}: reflections start on {EARLIEST_DAY}")
    return value


# The pattern lives in the OpenAPI only: `_valid_week` checks the same with a message a person can read.
IsoWeek = Annotated[
    str,
    Field(
        examples=["2026-W48"],
        description="An ISO 8601 week, YYYY-Www, from 2000-W01 (W53 only in a year that has one).",
        json_schema_extra={"pattern": ISO_WEEK_PATTERN},
    ),
    AfterValidator(_valid_week),
]
# A local day reflected on: YYYY-MM-DD from 2000-01-01 (the year's pattern says so beside `format: date`).
ReflectionDay = Annotated[
    IsoDate,
    AfterValidator(_not_before_earliest),
    Field(
        description="A local date, YYYY-MM-DD, from 2000-01-01.",
        json_schema_extra={"pattern": _ISO_DAY_PATTERN},
    ),
]


def reflection_key(user_id: str, period: str, kind: ReflectionKind) -> str:
    """A reflection's identity, "user|period|kind": its Coda row's key, one row per reflection."""
    return f"{user_id}|{period}|{kind}"


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class DailyTrigger(_Strict):
    user_id: UserId | None = Field(default=None, description="Omitted: every user with activity.")
    date: ReflectionDay | None = Field(
        default=None,
        description="The user's local date, from 2000-01-01 and not after their today; omitted: see `default_day`.",
    )
    default_day: DefaultDay = Field(
        default="yesterday", description="The local day reflected on when `date` is omitted (ignored beside it)."
    )


class WeeklyTrigger(_Strict):
    user_id: UserId | None = Field(default=None, description="Omitted: every user with activity.")
    week: IsoWeek | None = Field(
        default=None,
        description="A week that has begun for the user (a later one is a 422); omitted: the week of their yesterday.",
    )


class ReflectionUserRequest(_Strict):
    user_id: UserId


class Ratio(BaseModel):
    """actual / estimated as sum(actual) / sum(estimated) over `samples` finished runs (None without any)."""

    ratio: float | None
    samples: int
    actual_minutes: int
    estimated_minutes: int


class CarryOver(BaseModel):
    task_id: UUID
    title: str
    times_rolled: int = Field(description="Consecutive reflections this task was carried over in, this one included.")


class SlippedDeadline(BaseModel):
    task_id: UUID
    title: str
    deadline: datetime
    completed_at: datetime | None


class DayFigures(BaseModel):
    """What one local day held: planned against done, minutes against capacity, and how estimates held."""

    date: date
    working_day: bool
    plans_created: int
    tasks_planned: int
    tasks_done: int = Field(description="Planned tasks done by the end of the day.")
    tasks_done_unplanned: int = Field(description="Tasks done that day that had no block that day.")
    planned_minutes: int
    actual_minutes: int
    focus_minutes: int = Field(description="Task and coding work in runs of 25 minutes or more.")
    meeting_minutes: int
    meeting_share: float | None = Field(description="Meeting minutes / working minutes; None on a day off.")
    unplanned_minutes: int = Field(description="Actual minutes on nothing that had a block that day.")
    capacity_minutes: int = Field(description="Working minutes less lunch and meetings, within the focus cap.")
    planned_load: float | None = Field(description="planned_minutes / capacity_minutes; None without capacity.")
    estimate_accuracy: Ratio
    accuracy_by_tag: dict[str, Ratio]
    executions: int
    running_executions: int
    events: dict[str, int] = Field(description="Events logged that day, by type.")


class DailyMetrics(DayFigures):
    time_zone: str
    carry_overs: list[CarryOver]
    slipped_deadlines: list[SlippedDeadline]
    finished_at: datetime | None = Field(description="When the day's last finished run ended.")
    planned_end: datetime | None = Field(description="The end of the day's last working window.")
    finish_delta_minutes: int | None = Field(description="finished_at - planned_end (positive: worked late).")
    vs_last_week: dict[str, float] | None = Field(
        description="Change against the same weekday a week earlier (done, actual minutes, accuracy)."
    )
    done_streak: int = Field(description="Working days in a row with every planned task done (this one included).")
    work_streak: int = Field(description="Working days in a row with any work recorded (this one included).")
    sources: dict[str, str] = Field(description="Which inputs were read, or why one was unavailable.")


class WeeklyMetrics(BaseModel):
    week: str
    time_zone: str
    days: list[DayFigures]
    totals: DayFigures
    previous_totals: DayFigures | None
    trends: dict[str, float | None] = Field(description="This week minus the week before, per total figure.")
    carry_overs: list[CarryOver]
    slipped_deadlines: list[SlippedDeadline]
    sources: dict[str, str]


class Suggestion(BaseModel):
    text: str
    evidence: str = Field(description="The figure or record the suggestion rests on.")


class Narrative(BaseModel):
    summary: str
    wins: list[str]
    blockers: list[str]
    slipped: str = Field(description="What slipped and why, in one or two sentences.")
    change_for_tomorrow: str = Field(description="One change for the next day (or week).")
    suggestions: list[Suggestion] = Field(min_length=1, max_length=MAX_SUGGESTIONS)


class TemplateUsed(BaseModel):
    name: str
    version: int


class Posting(BaseModel):
    """The Coda Daily Thread row: posted once `mutationStatus` said completed for the current content."""

    status: PostingStatus
    request_id: str | None
    posted_at: datetime | None
    attempts: int
    error: str | None


Insight = EstimateFactorInsight | LowOutputHoursInsight


class ReflectionRead(BaseModel):
    id: UUID
    user_id: str
    kind: ReflectionKind
    period: str = Field(description="The local date (YYYY-MM-DD) or the ISO week (YYYY-Www).")
    period_start: date
    period_end: date
    key: str = Field(description="user|period|kind: the Coda row's key.")
    metrics: DailyMetrics | WeeklyMetrics
    narrative: Narrative
    narrative_source: NarrativeSource
    model: str | None
    prompt_template: TemplateUsed | None
    insights: list[Insight]
    chart_url: str | None = Field(description="The weekly chart (SVG) of planned vs actual minutes per day.")
    posting: Posting
    indexed: bool = Field(description="Indexed into the memory-gateway's daily threads.")
    warnings: list[str]
    revision: int = Field(description="1 when first built; +1 each time a rerun changed it.")
    created_at: datetime
    updated_at: datetime


class ReflectionFailure(BaseModel):
    user_id: str
    status: int
    error: str


class ReflectionRunRead(BaseModel):
    """The reflections a trigger built (one for one user; one per active user otherwise) and who failed."""

    reflections: list[ReflectionRead]
    failed: list[ReflectionFailure]


class ReflectionListRead(BaseModel):
    reflections: list[ReflectionRead]


class SimilarReflection(BaseModel):
    reflection: ReflectionRead
    score: float


class SimilarReflectionsRead(BaseModel):
    hits: list[SimilarReflection]
