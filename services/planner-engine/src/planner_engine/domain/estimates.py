"""Estimates from the user's own history: how long their work really takes against what they planned.

Policy (docs/planner.md):
1. A task titled like past tasks that were executed takes the median of their actual minutes.
2. Otherwise its base estimate is scaled by the median ratio actual / estimated of the user's finished
   runs carrying one of its tags (at least `MIN_RUNS` of them), else of all their finished runs.
3. Without history the base estimate stands. Results are rounded to 5 minutes, within 5..2400.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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

    def describe(self) -> str:
        """The profile in one sentence, for a prompt."""
        if self.ratio is None:
            return "no execution history yet: use typical estimates."
        tags = ", ".join(f"{tag} x{ratio:.2f}" for tag, ratio in sorted(self.by_tag.items()))
        by_tag = f"; by tag: {tags}" if tags else ""
        return f"over {self.runs} finished runs, work took x{self.ratio:.2f} the estimate (median){by_tag}."


def title_key(title: str) -> str:
    """Titles compare case- and punctuation-insensitively."""
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


def _ratio(values: Iterable[float]) -> float:
    return min(MAX_RATIO, max(MIN_RATIO, statistics.median(values)))


def build_profile(runs: Sequence[FinishedRun]) -> EstimateProfile:
    """The profile of a user's finished runs (newest first, as the repository returns them)."""
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
    )


def rounded(minutes: float) -> int:
    return int(min(MAX_ESTIMATE_MINUTES, max(ROUND_TO, ROUND_TO * round(minutes / ROUND_TO))))


def known_estimate(base_minutes: int, *, title: str, profile: EstimateProfile) -> int:
    """Rule 1 only: the median of executed tasks with this title, else the estimate given."""
    known = profile.by_title.get(title_key(title))
    return rounded(known if known is not None else base_minutes)


def estimate(base_minutes: int, *, title: str, tags: Sequence[str], profile: EstimateProfile) -> int:
    """The estimate for a task, by the policy in the module docstring."""
    known = profile.by_title.get(title_key(title))
    if known is not None:
        return rounded(known)
    tag_ratios = [profile.by_tag[tag] for tag in tags if tag in profile.by_tag]
    if tag_ratios:
        return rounded(base_minutes * statistics.median(tag_ratios))
    if profile.ratio is not None:
        return rounded(base_minutes * profile.ratio)
    return rounded(base_minutes)
