"""The chunker: heading paths, code fences, boundaries, overlap and limits, with exact expectations."""

from __future__ import annotations

import itertools
import re

import pytest

from memory_gateway.domain.chunking import Chunk, MediaType, chunk_document


def chunks(
    text: str, *, chunk_chars: int = 200, overlap_chars: int = 0, media_type: MediaType = "text/markdown"
) -> list[tuple[tuple[str, ...], str]]:
    found = chunk_document(text, media_type=media_type, chunk_chars=chunk_chars, overlap_chars=overlap_chars)
    return [(chunk.heading_path, chunk.text) for chunk in found]


def test_nested_headings_give_each_chunk_its_path() -> None:
    text = (
        "Preamble before any heading.\n"
        "# Setup\nIntro to setup.\n"
        "## Install\nRun make dev.\n"
        "### Linux\nUse apt.\n"
        "## Configure\nEdit .env.\n"
        "# Usage\nCall the API.\n"
    )
    assert chunks(text) == [
        ((), "Preamble before any heading."),
        (("Setup",), "Intro to setup."),
        (("Setup", "Install"), "Run make dev."),
        (("Setup", "Install", "Linux"), "Use apt."),
        (("Setup", "Configure"), "Edit .env."),
        (("Usage",), "Call the API."),
    ]


def test_unnested_headings_close_only_their_level_and_deeper() -> None:
    text = "### Deep first\na.\n# Top\nb.\n### Skipped level\nc.\n## Middle\nd.\n#### Under middle\ne.\n# Next\nf."
    assert chunks(text) == [
        (("Deep first",), "a."),
        (("Top",), "b."),
        (("Top", "Skipped level"), "c."),
        (("Top", "Middle"), "d."),
        (("Top", "Middle", "Under middle"), "e."),
        (("Next",), "f."),
    ]


def test_heading_syntax() -> None:
    text = (
        "#hashtag is not a heading\n"
        "####### seven is not a heading\n"
        "  ## Indented up to three spaces ##\nx.\n"
        "## C# tips\ny.\n"
        "#\nunder an empty heading.\n"
    )
    assert chunks(text) == [
        ((), "#hashtag is not a heading\n####### seven is not a heading"),
        (("Indented up to three spaces",), "x."),
        (("C# tips",), "y."),
        ((), "under an empty heading."),
    ]


def test_hash_lines_in_code_fences_are_not_headings() -> None:
    text = (
        "# Build\n"
        "Run this:\n\n"
        "```bash\n# install deps\nmake dev\n\n## not a heading either\n```\n"
        "~~~\n```\n# inside a tilde fence\n```\n~~~\n"
        "After the code.\n"
        "## Test\nmake test"
    )
    assert chunks(text) == [
        (
            ("Build",),
            "Run this:\n\n```bash\n# install deps\nmake dev\n\n## not a heading either\n```\n"
            "~~~\n```\n# inside a tilde fence\n```\n~~~\nAfter the code.",
        ),
        (("Build", "Test"), "make test"),
    ]


def test_an_unclosed_fence_runs_to_the_end_and_inline_backticks_open_none() -> None:
    assert chunks("intro\n```\n# never closed\n\n# still code") == [((), "intro\n```\n# never closed\n\n# still code")]
    assert chunks("```python```\n# Real heading\nbody") == [((), "```python```"), (("Real heading",), "body")]


def test_empty_sections_are_skipped() -> None:
    assert chunks("# A\n\n   \n## B\n# C\ntext under C\n# D\n") == [(("C",), "text under C")]
    assert chunks("# Only\n## Headings\n") == []
    assert chunks("   \n\n\t\n") == []


def test_plain_text_has_no_headings_or_fences() -> None:
    text = "# not a heading\nline two\n\n```\nnot code\n\nsecond paragraph"
    assert chunks(text, media_type="text/plain") == [
        ((), "# not a heading\nline two\n\n```\nnot code\n\nsecond paragraph")
    ]


def test_paragraphs_stay_whole_when_they_fit() -> None:
    text = "First paragraph has words in it.\n\nSecond paragraph is here too.\n\nThird one closes the section."
    assert chunks(text, chunk_chars=70) == [
        ((), "First paragraph has words in it.\n\nSecond paragraph is here too."),
        ((), "Third one closes the section."),
    ]


def test_overlap_repeats_whole_sentences_when_they_fit() -> None:
    text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu."
    assert chunks(text, chunk_chars=40, overlap_chars=20) == [
        ((), "Alpha beta gamma. Delta epsilon zeta."),
        ((), "Delta epsilon zeta. Eta theta iota."),
        ((), "Eta theta iota. Kappa lambda mu."),
    ]


def test_overlap_falls_back_to_whole_words() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    assert chunks(text, chunk_chars=30, overlap_chars=10) == [
        ((), "one two three four five six"),
        ((), "five six seven eight nine ten"),
        ((), "nine ten eleven twelve"),
    ]
    paragraphs = "First paragraph has words in it.\n\nSecond paragraph is here too.\n\nThird one closes the section."
    assert chunks(paragraphs, chunk_chars=70, overlap_chars=20)[1] == (
        (),
        "is here too.\n\nThird one closes the section.",
    )


def test_long_paragraph_splits_between_sentences() -> None:
    text = " ".join(f"Sentence number {i} ends here." for i in range(1, 13))
    first, second, third = (
        " ".join(f"Sentence number {i} ends here." for i in numbers)
        for numbers in (range(1, 7), range(5, 11), range(9, 13))
    )
    assert chunks(text, chunk_chars=200, overlap_chars=60) == [((), first), ((), second), ((), third)]


def test_lists_split_between_lines() -> None:
    text = "- item one\n- item two\n- item three\n- item four\n- item five"
    assert chunks(text, chunk_chars=25) == [
        ((), "- item one\n- item two"),
        ((), "- item three\n- item four"),
        ((), "- item five"),
    ]


def test_only_a_word_longer_than_a_chunk_is_cut() -> None:
    text = "short " + "x" * 450 + " tail"
    assert chunks(text, chunk_chars=200, overlap_chars=50) == [
        ((), "short"),
        ((), "x" * 200),
        ((), "x" * 200),
        ((), "x" * 50 + " tail"),
    ]


def test_unicode_counts_characters_and_cuts_after_cjk_full_stops() -> None:
    text = "一つ目の文です。二つ目の文です。三つ目の文です。四つ目の文です。"
    assert chunks(text, chunk_chars=20, overlap_chars=8) == [
        ((), "一つ目の文です。二つ目の文です。"),
        ((), "二つ目の文です。三つ目の文です。"),
        ((), "三つ目の文です。四つ目の文です。"),
    ]
    accented = "# Crème brûlée 🍮\nCafé naïve façade, résumé. Ünïcödé wörds stay whole."
    assert chunks(accented, chunk_chars=30) == [
        (("Crème brûlée 🍮",), "Café naïve façade, résumé."),
        (("Crème brûlée 🍮",), "Ünïcödé wörds stay whole."),
    ]


def test_line_endings_and_byte_order_mark_are_normalised() -> None:
    assert chunks("\ufeff# Title\r\nbody one\r\n\r\nbody two\rend") == [(("Title",), "body one\n\nbody two\nend")]


def _generated_markdown() -> str:
    words = ["alpha", "beta", "gamma.", "delta", "epsilon?", "zeta", "eta!", "theta", "iota", "kappa,"]
    sections = []
    for section in range(12):
        body = " ".join(words[(section * 7 + i * 3) % len(words)] for i in range(40 + section * 37))
        sections.append(f"{'#' * (section % 3 + 1)} Part {section}\n\n{body}\n\n```\n# code {section}\n```\n")
    return "\n".join(sections)


@pytest.mark.parametrize(("chunk_chars", "overlap_chars"), [(200, 0), (200, 100), (300, 50), (1200, 200)])
def test_invariants_on_a_larger_document(chunk_chars: int, overlap_chars: int) -> None:
    text = _generated_markdown()
    found = chunk_document(text, media_type="text/markdown", chunk_chars=chunk_chars, overlap_chars=overlap_chars)
    source_words = set(re.findall(r"\S+", text))
    for chunk in found:
        assert 0 < len(chunk.text) <= chunk_chars
        assert chunk.text == chunk.text.strip()
        assert chunk.text in text
        assert "Part" not in chunk.text  # within one section: never across a heading
        # Never cut inside a word: every word of a chunk is a word of the document.
        assert set(chunk.text.split()) <= source_words
    # Sections come in document order, each under its own path, and the same input gives the same chunks.
    sections = [int(chunk.heading_path[-1].removeprefix("Part ")) for chunk in found]
    assert sections == sorted(sections)
    assert set(sections) == set(range(12))
    # Levels cycle 1, 2, 3: Part 2 sits under Part 0 > Part 1, Part 3 starts a new top-level section.
    expected_paths = {tuple(f"Part {p}" for p in range(s - s % 3, s + 1)) for s in range(12)}
    assert {chunk.heading_path for chunk in found} == expected_paths
    assert found == chunk_document(
        text, media_type="text/markdown", chunk_chars=chunk_chars, overlap_chars=overlap_chars
    )
    if overlap_chars:
        same_section = [(a, b) for a, b in itertools.pairwise(found) if a.heading_path == b.heading_path]
        assert same_section
        assert all(_overlap(a, b) for a, b in same_section)


def _overlap(previous: Chunk, following: Chunk) -> bool:
    """Whether `following` starts with a non-empty suffix of `previous`."""
    return any(following.text.startswith(previous.text[i:]) for i in range(1, len(previous.text)))


def test_rejects_sizes_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="overlap_chars"):
        chunk_document("text", media_type="text/plain", chunk_chars=100, overlap_chars=100)
    with pytest.raises(ValueError, match="chunk_chars"):
        chunk_document("text", media_type="text/plain", chunk_chars=0, overlap_chars=0)
