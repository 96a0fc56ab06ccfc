"""The offline summariser: deterministic, one "role: first sentence" line per turn, within the limit."""

from __future__ import annotations

from datetime import UTC, datetime

from memory_gateway.domain.models import Turn
from memory_gateway.domain.sessions import FirstSentenceSummariser, first_sentence, overflow_chunk
from pma_core.contracts.memory import MAX_MEMORY_CHARS

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _turns(*contents: str, first_seq: int = 1) -> list[Turn]:
    roles = ["user", "assistant"]
    return [
        Turn(seq=first_seq + n, role=roles[n % 2], content=c, metadata={}, created_at=NOW)
        for n, c in enumerate(contents)
    ]


def test_first_sentence_stops_at_the_first_sentence_end() -> None:
    assert first_sentence("Ship it on Friday. Then rest.") == "Ship it on Friday."
    assert first_sentence("Version 2.5 is out!  Upgrade soon") == "Version 2.5 is out!"
    assert first_sentence("  no\n end   mark ") == "no end mark"
    assert first_sentence("Why?\nBecause.") == "Why?"


async def test_a_summary_names_the_range_and_each_turns_first_sentence() -> None:
    turns = _turns("Can we move standup to 10? Mornings are busy.", "Yes. I will update the invite.", first_seq=7)
    text = await FirstSentenceSummariser().summarise("team-chat", turns, max_chars=MAX_MEMORY_CHARS)
    assert text == "Conversation team-chat, turns 7-8:\nuser: Can we move standup to 10?\nassistant: Yes."


async def test_the_same_turns_give_the_same_text_within_the_limit() -> None:
    turns = _turns(*(f"word{n} " * 400 for n in range(200)))
    summariser = FirstSentenceSummariser()
    first = await summariser.summarise("long", turns, max_chars=MAX_MEMORY_CHARS)
    assert first == await summariser.summarise("long", turns, max_chars=MAX_MEMORY_CHARS)
    assert len(first) <= MAX_MEMORY_CHARS
    assert first.count("\n") >= 100  # lines are shortened to share the limit, not dropped first
    assert len(await summariser.summarise("x", turns[:3], max_chars=200)) <= 200


def test_overflow_moves_chunks_of_a_fifth_of_the_window_at_least_two() -> None:
    assert [overflow_chunk(n) for n in (2, 4, 10, 50, 1000)] == [2, 2, 2, 10, 200]
