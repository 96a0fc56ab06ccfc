"""A plan's estimate notes: why its estimates differ from the planner's base figures, in words.

One note per insight or history figure that set estimates, naming the tasks it set, in task order:

    writing x1.40 (observer insight, 5 runs 2026-11-23..2026-11-29): 'Draft the post' 60 -> 85 min

Insights come first (by tag), then the history's tag ratios, its overall ratio and known titles. A history
figure is noted for the tasks it changed; an insight for every task it set, since an insight of x1.00 (the
work now fits its estimates) or one outranking a history ratio explains an estimate too. On the LLM path the
planner sets no estimate: each insight is noted as given to the model in its prompt.

A replan keeps the notes true of the new revision: an entry stays while its task keeps its key, title and
estimate, and a note left naming no task goes. The entries are found by the title and estimate each was
written with (`'<title>' <base> -> <estimate> min`), so the notes need no structure of their own in storage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from planner_engine.domain.estimates import Estimate, EstimateProfile, Rule, rounded
from pma_core.contracts.insights import EstimateFactorInsight
from pma_core.contracts.tasks import TaskSpec

_SEPARATOR = ", "
# (task title, how its estimate was reached), in task order.
Estimated = tuple[str, Estimate]


def insight_label(insight: EstimateFactorInsight) -> str:
    return (
        f"{insight.tag} x{insight.factor:.2f} (observer insight, {insight.samples} runs"
        f" {insight.window_from}..{insight.window_to})"
    )


def estimate_notes(estimated: Sequence[Estimated], profile: EstimateProfile) -> list[str]:
    """The notes of a plan whose estimates the planner set (the offline planner)."""
    factors = {tag: insight.factor for tag, insight in profile.insights.items()}
    notes = [
        _note(insight_label(insight), [_entry(t, e, tag, factors) for t, e in estimated if _by(e, "insight", tag)])
        for tag, insight in sorted(profile.insights.items())
    ]
    changed = [(title, e) for title, e in estimated if e.minutes != rounded(e.base)]
    notes += [
        _note(
            f"{tag} x{ratio:.2f} (history: median of the user's runs with this tag)",
            [_entry(t, e, tag, profile.by_tag) for t, e in changed if _by(e, "tag", tag)],
        )
        for tag, ratio in sorted(profile.by_tag.items())
    ]
    if profile.ratio is not None:
        overall = [_entry(t, e) for t, e in changed if e.rule == "overall"]
        notes.append(_note(f"all work x{profile.ratio:.2f} (history: median of {profile.runs} finished runs)", overall))
    known = [_entry(t, e) for t, e in changed if e.rule == "title"]
    notes.append(_note("known titles (history: median actual minutes of their past runs)", known))
    return [note for note in notes if note]


def prompt_notes(profile: EstimateProfile) -> list[str]:
    """The notes of an LLM plan: the insights its prompt carried (the model set the estimates itself)."""
    return [
        f"{insight_label(insight)}: given to the LLM in its prompt; the estimates are the LLM's"
        for _, insight in sorted(profile.insights.items())
    ]


def notes_after_replan(notes: Sequence[str], *, before: Sequence[TaskSpec], after: Sequence[TaskSpec]) -> list[str]:
    """The notes of the revision a replan made: entries of tasks it removed, renamed or re-estimated go."""
    unchanged = {_identity(task) for task in after}
    kept_notes = []
    for note in notes:
        entries = _entries(note, before)
        if not entries:
            kept_notes.append(note)  # it names no task (an LLM plan's note)
            continue
        kept = [note[start:end] for start, end, task in entries if _identity(task) in unchanged]
        if kept:
            kept_notes.append(note[: entries[0][0]] + _SEPARATOR.join(kept))
    return kept_notes


def _by(estimate: Estimate, rule: Rule, tag: str) -> bool:
    return estimate.rule == rule and tag in estimate.tags


def _entry(title: str, estimate: Estimate, tag: str = "", factors: dict[str, float] | None = None) -> str:
    entry = f"'{title}' {estimate.base} -> {estimate.minutes} min"
    others = [f"{other} x{(factors or {})[other]:.2f}" for other in estimate.tags if other != tag]
    return f"{entry} (median with {', '.join(others)})" if tag and others else entry


def _note(label: str, entries: list[str]) -> str:
    return f"{label}: {_SEPARATOR.join(entries)}" if entries else ""


def _identity(task: TaskSpec) -> tuple[str, str, int]:
    return task.key, task.title, task.estimate_minutes


def _entries(note: str, tasks: Sequence[TaskSpec]) -> list[tuple[int, int, TaskSpec]]:
    """(start, end, task) of each task's entry in the note, in the note's order."""
    found: dict[int, TaskSpec] = {}
    for task in tasks:
        pattern = re.compile(re.escape(f"'{task.title}' ") + rf"\d+ -> {task.estimate_minutes} min")
        # Two tasks of the same title and estimate have an entry each: the first one not taken is this one's.
        start = next((m.start() for m in pattern.finditer(note) if m.start() not in found), None)
        if start is not None:
            found[start] = task
    starts = sorted(found)
    ends = [start - len(_SEPARATOR) for start in starts[1:]] + [len(note)] if starts else []
    return [(start, end, found[start]) for start, end in zip(starts, ends, strict=True)]
