"""matching.py: content words, word overlap, and the best SOP at or above the threshold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from planner_engine.domain.matching import DENSE_WEIGHT, best_match, content_words, cosine, overlap, sop_text
from pma_core.contracts.library import SopRead, SopStep


def sop(title: str, *steps: str, intent: str = "", summary: str = "") -> SopRead:
    return SopRead(
        id=uuid4(), user_id="u", name="n", version=1, title=title, summary=summary, intent=intent,
        steps=[SopStep(title=step) for step in steps or ("Do it",)], tasks=[], tags=[], source_plan_id=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def test_content_words_drop_stop_words_identifiers_and_plurals() -> None:
    assert content_words("Launch the newsletters by Friday for our readers") == {"launch", "newsletter", "reader"}
    # Instance identifiers say which one, not what kind of work.
    assert content_words("Ship v2 of the Q3 report for FY2025 on the 3rd") == {"ship", "report"}
    assert content_words("B2B sales deck") == {"b2b", "sale", "deck"}
    # Short words are not plural-folded.
    assert content_words("bus gas") == {"bus", "gas"}
    assert content_words("the and of") == set()


def test_overlap_is_the_share_of_intent_words_in_the_sop() -> None:
    newsletter = sop("Launch the Q1 newsletter", "Review and test the Q1 newsletter", summary="launch playbook")
    assert overlap("Launch the Q2 newsletter", newsletter) == 1.0
    assert overlap("Cancel the newsletter", newsletter) == 0.5
    assert overlap("Fix the login bug", newsletter) == 0.0
    assert overlap("the", newsletter) == 0.0
    # Step titles and the intent count as the SOP's words.
    assert overlap("review", newsletter) == 1.0
    assert overlap("readers", sop("X", intent="reach readers")) == 1.0
    assert "reach readers" in sop_text(sop("X", intent="reach readers"))


def test_cosine() -> None:
    assert cosine([1.0, 0.0], [1.0, 0.0]) == 1.0
    assert cosine([1.0, 0.0], [0.0, 2.0]) == 0.0
    assert cosine([1.0, 1.0], [-1.0, -1.0]) == pytest.approx(-1.0)
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0


def candidates(*pairs: tuple[SopRead, list[float]]) -> list[tuple[SopRead, str, Any]]:
    return [(item, sop_text(item), vector) for item, vector in pairs]


def test_best_match_scores_dense_and_words_against_the_threshold() -> None:
    assert DENSE_WEIGHT == 0.6
    launch = sop("Launch the newsletter")
    fix = sop("Fix a bug")

    found = best_match(
        "Launch the newsletter", [1.0, 0.0], candidates((fix, [0.0, 1.0]), (launch, [1.0, 0.0])), threshold=0.6
    )
    assert found is not None
    assert (found.sop, found.dense, found.overlap, found.score) == (launch, 1.0, 1.0, pytest.approx(1.0))

    # Words alone (0.4) do not reach 0.6; the vector alone (0.6) just does: the threshold is inclusive.
    assert best_match("Launch the newsletter", [0.0, 1.0], candidates((launch, [1.0, 0.0])), threshold=0.6) is None
    vector_only = best_match("Cancel the podcast", [1.0, 0.0], candidates((launch, [1.0, 0.0])), threshold=0.6)
    assert vector_only is not None
    assert (vector_only.overlap, vector_only.score) == (0.0, pytest.approx(0.6))
    assert best_match("Cancel the podcast", [1.0, 0.0], candidates((launch, [1.0, 0.0])), threshold=0.61) is None
    # Half the words and the same vector: 0.6 + 0.2 = 0.8.
    half = best_match("Cancel the newsletter", [1.0, 0.0], candidates((launch, [1.0, 0.0])), threshold=0.8)
    assert half is not None
    assert half.score == pytest.approx(0.8)
    assert best_match("Cancel the newsletter", [1.0, 0.0], candidates((launch, [1.0, 0.0])), threshold=0.81) is None


def test_best_match_handles_odd_vectors_and_ties() -> None:
    launch, again = sop("Launch the newsletter"), sop("Launch the newsletter")
    # A vector from another embedder (another size) or pointing away counts as no similarity.
    mismatch = best_match("Launch the newsletter", [1.0, 0.0], candidates((launch, [1.0, 0.0, 0.0])), threshold=0.4)
    assert mismatch is not None
    assert (mismatch.dense, mismatch.score) == (0.0, pytest.approx(0.4))
    opposite = best_match("Launch the newsletter", [1.0, 0.0], candidates((launch, [-1.0, 0.0])), threshold=0.4)
    assert opposite is not None
    assert opposite.dense == 0.0
    # On a tie the first candidate (the newer SOP) wins; a better later one replaces it.
    tie = best_match(
        "Launch the newsletter", [1.0, 0.0], candidates((launch, [1.0, 0.0]), (again, [1.0, 0.0])), threshold=0.5
    )
    assert tie is not None
    assert tie.sop is launch
    better = best_match(
        "Launch the newsletter", [1.0, 0.0], candidates((launch, [1.0, 1.0]), (again, [1.0, 0.0])), threshold=0.5
    )
    assert better is not None
    assert better.sop is again
    assert best_match("Launch the newsletter", [1.0, 0.0], [], threshold=0.1) is None
