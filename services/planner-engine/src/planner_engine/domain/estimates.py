"""Estimates from the user's own history: how long their work really takes against what they planned.

Policy (docs/planner.md):
1. A task titled like past tasks that were executed takes the median of their actual minutes.
2. Otherwise, when the observer-agent found an estimate factor for one of its tags (an insight), its base
   estimate is scaled by that factor (the median of the factors, for several such tags).
3. Otherwise its base estimate is scaled by the median ratio actual / estimated of the user's finished
   runs carrying one of its tags (at least `MIN_RUNS` of them), else of all their finished runs.
4. Without history the base estimate stands. Results are rounded to 5 minutes, within 5..2400.

An insight outranks the history's ratios because the observer measured it over a dated window of at
least five runs of that tag (sum actual / sum estimated), where the planner sees a median over whatever
runs it has; it does not outrank a known title, which is the most specific evidence there is.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pma_core.contracts.insights import EstimateFactorInsight
from pma_core.contracts.tasks import MAX_ESTIMATE_MINUTES

MIN_RUNS = 3
ROUND_TO = 5
# A ratio from a handful of wild runs should not triple every estimate.
MIN_RATIO, MAX_RATIO = 0.5, 3.0


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """One finished execution with what was estimated and what it took."""

    title: str
    tags: Sequence[str]
    estimated_minutes: int | None
    actual_minutes: int


@dataclass(frozen=True, slots=True)
class EstimateProfile:
    runs: int = 0
    ratio: float | None = None
    by_tag: dict[str, float] = field(default_factory=dict)
    by_title: dict[str, int] = field(default_factory=dict)
    # The observer's active estimate-factor insights, by tag.
    insights: dict[str, EstimateFactorInsight] = field(default_factory=dict)

    def describe(self) -> str:
        """The profile in a sentence or a few, for a prompt: the history, then each insight."""
        if self.ratio is None:
            history = "no execution history yet: use typical estimates."
        else:
            tags = ", ".join(f"{tag} x{ratio:.2f}" for tag, ratio in sorted(self.by_tag.items()))
            by_tag = f"; by tag: {tags}" if tags else ""
            history = f"over {self.runs} finished runs, work took x{self.ratio:.2f} the estimate (median){by_tag}."
        if not self.insights:
            return history
        found = " ".join(
            f"insight from the observer: {tag} tasks run x{insight.factor:.2f} their estimate"
            f" ({insight.samples} runs, {insight.window_from}..{insight.window_to})."
            for tag, insight in sorted(self.insights.items())
        )
        return f"{history} {found} For tasks with these tags the insights take precedence over the history."


Rule = Literal["title", "insight", "tag", "overall", "base"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """An estimate and how the policy reached it (what the plan's estimate notes are made of)."""

    base: int
    minutes: int
    rule: Rule
    # The tags whose insights (rule "insight") or history ratios (rule "tag") set it, in the task's order.
    tags: tuple[str, ...] = ()


def title_key(title: str) -> str:
    """Titles compare case- and punctuation-insensitively."""
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


def _ratio(values: Iterable[float]) -> float:
    return min(MAX_RATIO, max(MIN_RATIO, statistics.median(values)))


def build_profile(runs: Sequence[FinishedRun], *, insights: Iterable[EstimateFactorInsight] = ()) -> EstimateProfile:
    """The profile of a user's finished runs (newest first, as the repository returns them) and of the
    observer's insights (one per tag: should two be active, the one of the later window)."""
    ratios = [r.actual_minutes / r.estimated_minutes for r in runs if r.estimated_minutes and r.actual_minutes > 0]
    per_tag: dict[str, list[float]] = defaultdict(list)
    per_title: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        if run.actual_minutes <= 0:
            continue
        per_title[title_key(run.title)].append(run.actual_minutes)
        if run.estimated_minutes:
            for tag in run.tags:
                per_tag[tag].append(run.actual_minutes / run.estimated_minutes)
    return EstimateProfile(
        runs=len(ratios),
        ratio=_ratio(ratios) if len(ratios) >= MIN_RUNS else None,
        by_tag={tag: _ratio(values) for tag, values in per_tag.items() if len(values) >= MIN_RUNS},
        by_title={key: round(statistics.median(values)) for key, values in per_title.items() if key},
        insights={insight.tag: insight for insight in sorted(insights, key=lambda i: (i.window_to, i.samples))},
    )


def rounded(minutes: float) -> int:
    return int(min(MAX_ESTIMATE_MINUTES, max(ROUND_TO, ROUND_TO * round(minutes / ROUND_TO))))


def explain_known(base_minutes: int, *, title: str, profile: EstimateProfile) -> Estimate:
    """Rule 1 only: the median of executed tasks with this title, else the estimate given."""
    known = profile.by_title.get(title_key(title))
    if known is not None:
        return Estimate(base_minutes, rounded(known), "title")
    return Estimate(base_minutes, rounded(base_minutes), "base")


def explain(base_minutes: int, *, title: str, tags: Sequence[str], profile: EstimateProfile) -> Estimate:
    """The estimate for a task by the policy in the module docstring, with the rule that set it."""
    known = explain_known(base_minutes, title=title, profile=profile)
    if known.rule == "title":
        return known
    with_insight = tuple(tag for tag in dict.fromkeys(tags) if tag in profile.insights)
    if with_insight:
        factor = statistics.median(profile.insights[tag].factor for tag in with_insight)
        return Estimate(base_minutes, rounded(base_minutes * factor), "insight", with_insight)
    tag_ratios = [profile.by_tag[tag] for tag in tags if tag in profile.by_tag]
    if tag_ratios:
        with_ratio = tuple(tag for tag in dict.fromkeys(tags) if tag in profile.by_tag)
        return Estimate(base_minutes, rounded(base_minutes * statistics.median(tag_ratios)), "tag", with_ratio)
    if profile.ratio is not None:
        return Estimate(base_minutes, rounded(base_minutes * profile.ratio), "overall")
    return known


def estimate(base_minutes: int, *, title: str, tags: Sequence[str], profile: EstimateProfile) -> int:
    """The estimate for a task, by the policy in the module docstring."""
    return explain(base_minutes, title=title, tags=tags, profile=profile).minutes
