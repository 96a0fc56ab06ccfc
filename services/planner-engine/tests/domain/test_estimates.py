"""estimates.py: the profile learnt from finished runs, and the estimate policy built on it."""

from __future__ import annotations

from datetime import date

import pytest

from planner_engine.domain.estimates import (
    MAX_RATIO,
    MIN_RATIO,
    MIN_RUNS,
    Estimate,
    EstimateProfile,
    FinishedRun,
    build_profile,
    estimate,
    explain,
    rounded,
    title_key,
)
from pma_core.contracts.insights import EstimateFactorInsight


def run(
    actual: int, estimated: int | None = 10, *, title: str = "something", tags: tuple[str, ...] = ()
) -> FinishedRun:
    return FinishedRun(title=title, tags=tags, estimated_minutes=estimated, actual_minutes=actual)


def test_no_history_is_an_empty_profile() -> None:
    profile = build_profile([])
    assert profile == EstimateProfile(runs=0, ratio=None, by_tag={}, by_title={})
    assert profile.describe() == "no execution history yet: use typical estimates."


def test_the_ratio_is_the_median_after_min_runs() -> None:
    assert MIN_RUNS == 3
    two = build_profile([run(20), run(30)])
    assert (two.runs, two.ratio) == (2, None)
    three = build_profile([run(20), run(30), run(11)])
    assert (three.runs, three.ratio) == (3, 2.0)  # ratios 2.0, 3.0, 1.1: median 2.0
    four = build_profile([run(10), run(12), run(14), run(40)])
    assert four.ratio == pytest.approx(1.3)  # even count: the mean of the middle two (1.2, 1.4)


def test_the_ratio_is_clamped_between_half_and_triple() -> None:
    assert (MIN_RATIO, MAX_RATIO) == (0.5, 3.0)
    assert build_profile([run(100), run(90), run(80)]).ratio == 3.0
    assert build_profile([run(1), run(2), run(3)]).ratio == 0.5
    assert build_profile([run(100, tags=("x",))] * 3).by_tag == {"x": 3.0}


def test_runs_without_estimate_or_duration_count_only_where_they_can() -> None:
    profile = build_profile(
        [
            run(30, None, title="Water plants"),  # no estimate: no ratio, but a known title
            run(0, 10, title="Skipped"),  # no duration: ignored
            run(20, 10, title="Water plants", tags=("home",)),
            run(20, 10, tags=("home",)),
            run(20, 10, tags=("home", "garden")),
        ]
    )
    assert profile.runs == 3
    assert profile.ratio == 2.0
    assert profile.by_tag == {"home": 2.0}  # garden has one run only
    assert profile.by_title == {"water plants": 25, "something": 20}
    assert profile.describe() == "over 3 finished runs, work took x2.00 the estimate (median); by tag: home x2.00."


def test_estimate_prefers_title_then_tags_then_overall_ratio() -> None:
    profile = EstimateProfile(
        runs=5, ratio=1.5, by_tag={"writing": 2.0, "admin": 0.5, "deep": 3.0}, by_title={"draft the post": 83}
    )

    # 1. A known title (case and punctuation aside): its median actual minutes, rounded to 5.
    assert estimate(30, title="Draft the post!", tags=["writing"], profile=profile) == 85
    # 2. Tags with a ratio: the median of theirs.
    assert estimate(30, title="Other", tags=["writing"], profile=profile) == 60
    assert estimate(30, title="Other", tags=["writing", "admin", "deep", "unknown"], profile=profile) == 60
    assert estimate(30, title="Other", tags=["writing", "admin"], profile=profile) == 40  # 30 x 1.25 = 37.5
    # 3. Otherwise the overall ratio.
    assert estimate(30, title="Other", tags=["unknown"], profile=profile) == 45
    # 4. Without history, the base estimate (rounded).
    assert estimate(32, title="Other", tags=[], profile=EstimateProfile()) == 30


def test_estimates_are_rounded_to_five_within_bounds() -> None:
    assert [rounded(value) for value in (0, 1, 2.4, 7.4, 7.6, 62, 2399, 5000)] == [5, 5, 5, 5, 10, 60, 2400, 2400]
    assert estimate(2000, title="x", tags=[], profile=EstimateProfile(ratio=3.0)) == 2400


def test_title_key_ignores_case_and_punctuation() -> None:
    assert title_key("  Review & test: the Q1 newsletter!! ") == "review test the q1 newsletter"
    assert title_key("...") == ""
    # A run whose title has no words is not remembered by title.
    assert build_profile([run(10, title="!!!")]).by_title == {}


def insight(tag: str, factor: float, *, samples: int = 5, last: date = date(2026, 11, 29)) -> EstimateFactorInsight:
    return EstimateFactorInsight(
        tag=tag,
        factor=factor,
        samples=samples,
        actual_minutes=round(factor * 300),
        estimated_minutes=300,
        window_from=date(2026, 11, 23),
        window_to=last,
    )


def test_an_insight_outranks_the_history_ratios_but_not_a_known_title() -> None:
    profile = EstimateProfile(
        runs=9,
        ratio=1.5,
        by_tag={"writing": 2.0, "admin": 0.5},
        by_title={"draft the post": 83},
        insights={"writing": insight("writing", 1.4), "review": insight("review", 1.2)},
    )

    # 1. A known title still wins.
    assert estimate(60, title="Draft the post", tags=["writing"], profile=profile) == 85
    # 2. An insight of one of its tags beats the tag's history ratio (x2.0) and the overall one (x1.5).
    assert estimate(60, title="Other", tags=["writing"], profile=profile) == 85  # 60 x 1.4 = 84
    assert explain(60, title="Other", tags=["writing", "admin"], profile=profile) == Estimate(
        60, 85, "insight", ("writing",)
    )
    # Several tags with insights: the median of their factors (1.3).
    assert explain(60, title="Other", tags=["review", "writing", "writing"], profile=profile) == Estimate(
        60, 80, "insight", ("review", "writing")
    )
    # 3. Without an insight for its tags, the history as before.
    assert explain(60, title="Other", tags=["admin"], profile=profile) == Estimate(60, 30, "tag", ("admin",))
    assert explain(60, title="Other", tags=["unknown"], profile=profile) == Estimate(60, 90, "overall")
    assert explain(60, title="Other", tags=[], profile=EstimateProfile()) == Estimate(60, 60, "base")


def test_the_profile_keeps_one_insight_per_tag_and_the_prompt_sentence_names_each() -> None:
    older, newer = insight("writing", 1.8, last=date(2026, 11, 22)), insight("writing", 1.4)
    profile = build_profile([], insights=[newer, older, insight("admin", 0.8, samples=7)])

    assert profile.insights == {"writing": newer, "admin": insight("admin", 0.8, samples=7)}
    assert profile.describe() == (
        "no execution history yet: use typical estimates."
        " insight from the observer: admin tasks run x0.80 their estimate (7 runs, 2026-11-23..2026-11-29)."
        " insight from the observer: writing tasks run x1.40 their estimate (5 runs, 2026-11-23..2026-11-29)."
        " For tasks with these tags the insights take precedence over the history."
    )
