"""Split a document into retrieval chunks that keep the markdown heading path of their section.

Rules, in order of precedence:
- a chunk never spans two sections (a section is the text under one heading), so every chunk has
  exactly one heading path, e.g. ("Setup", "Install"); sections holding only whitespace give no chunk;
- a chunk holds at most `chunk_chars` characters, overlap included;
- cuts fall between paragraphs where possible, else between sentences, else between lines, else between
  words (in code blocks: between lines, else words); only a word longer than a chunk is cut inside (e.g.
  a long URL, or a run of CJK text without full stops);
- each chunk but a section's first starts with up to `overlap_chars` characters from the end of the
  previous chunk (from a sentence start when one fits, else from a word start), so text near a cut is
  found with its context on both sides.

Markdown is read the CommonMark way for what matters here: ATX headings (`#` to `######` then a space;
closing `#`s dropped), and fenced code blocks (``` or ~~~), whose `# comment` lines are not headings and
whose blank lines do not end the block. Setext headings (underlined with === or ---) are not read as
headings: `---` also opens YAML front matter and draws rules, so reading it as a heading misfiles text.
Pure and deterministic: the same input always gives the same chunks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

MediaType = Literal["text/markdown", "text/plain"]
LineKind = Literal["text", "blank", "code", "heading"]
# Splits a span (start, end) of the text into smaller spans, or returns it whole when it has no gap.
Splitter = Callable[[str, int, int, int], list[tuple[int, int]]]

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")
# A sentence ends at . ! ? or an ellipsis (then closing quotes or brackets) before whitespace; the CJK full
# stop, exclamation and question marks end one even without the whitespace (\u escapes: the characters look
# like ASCII ones). Group 1 or 2 is the gap between two sentences.
_SENTENCE_ENDS = ".!?\u2026"
_CJK_ENDS = "\u3002\uff01\uff1f"
_CLOSERS = "\"')]\u201d\u2019\u300d\u300f"
_SENTENCE_GAP = re.compile(
    rf"[{re.escape(_SENTENCE_ENDS)}]+[{re.escape(_CLOSERS)}]*(\s+)|[{_CJK_ENDS}]+[{re.escape(_CLOSERS)}]*(\s*)"
)
_LINE_GAP = re.compile(r"\s*\n\s*")
_WORD_GAP = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    heading_path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    kind: LineKind
    # Lines of one paragraph, or of one fenced code block, share a block number.
    block: int = 0
    level: int = 0
    title: str = ""


@dataclass(frozen=True, slots=True)
class _Block:
    start: int
    end: int
    code: bool


def chunk_document(text: str, *, media_type: MediaType, chunk_chars: int, overlap_chars: int) -> list[Chunk]:
    """The chunks of `text`, in document order (see the module docstring for the rules)."""
    if chunk_chars < 1 or not 0 <= overlap_chars < chunk_chars:
        raise ValueError(
            f"need chunk_chars >= 1 and 0 <= overlap_chars < chunk_chars, got {chunk_chars}, {overlap_chars}"
        )
    lines = _classify(_normalized(text).split("\n"), markdown=media_type == "text/markdown")
    chunks: list[Chunk] = []
    for path, body in _sections(lines):
        section_text, blocks = _section_blocks(body)
        atoms = [
            atom
            for block in blocks
            for atom in _atoms(section_text, block.start, block.end, _CODE if block.code else _PROSE, chunk_chars)
        ]
        chunks.extend(Chunk(piece, path) for piece in _pack(section_text, atoms, chunk_chars, overlap_chars))
    return chunks


def _normalized(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _classify(lines: Sequence[str], *, markdown: bool) -> list[_Line]:
    """Tag each line as text, blank, code (fence lines included) or heading, and number the blocks."""
    out: list[_Line] = []
    block = 0
    fence: str | None = None
    for text in lines:
        previous = out[-1].kind if out else "blank"
        if fence is not None:
            kind: LineKind = "code"
            if _closes(text, fence):
                fence = None
        elif markdown and (opened := _fence_opened(text)):
            fence, kind, block = opened, "code", block + 1
        elif markdown and (heading := _HEADING.match(text)):
            out.append(_Line(text, "heading", level=len(heading[1]), title=_heading_title(heading[2])))
            continue
        elif not text.strip():
            kind = "blank"
        else:
            kind = "text"
            if previous != "text":
                block += 1
        out.append(_Line(text, kind, block))
    return out


def _fence_opened(line: str) -> str | None:
    match = _FENCE_OPEN.match(line)
    # A backtick fence's info string holds no backtick: "```x```" on one line is inline code, not a fence.
    if match is None or (match[1][0] == "`" and "`" in match[2]):
        return None
    return match[1]


def _closes(line: str, fence: str) -> bool:
    match = _FENCE_CLOSE.match(line)
    return match is not None and match[1][0] == fence[0] and len(match[1]) >= len(fence)


def _heading_title(raw: str | None) -> str:
    return _CLOSING_HASHES.sub("", (raw or "").strip()).strip()


def _sections(lines: Sequence[_Line]) -> Iterator[tuple[tuple[str, ...], list[_Line]]]:
    """(heading path, body lines) per section; a heading closes every open heading of its level or deeper."""
    open_headings: list[tuple[int, str]] = []
    path: tuple[str, ...] = ()
    body: list[_Line] = []
    for line in lines:
        if line.kind != "heading":
            body.append(line)
            continue
        yield path, body
        while open_headings and open_headings[-1][0] >= line.level:
            open_headings.pop()
        open_headings.append((line.level, line.title))
        # An empty heading ("#") still closes deeper ones but adds no name to the path.
        path = tuple(title for _, title in open_headings if title)
        body = []
    yield path, body


def _section_blocks(body: Sequence[_Line]) -> tuple[str, list[_Block]]:
    """The section's text, and the spans of its paragraphs and code blocks, trimmed of whitespace."""
    text = "\n".join(line.text for line in body)
    spans: list[list[int]] = []  # [block number, start, end, is code]
    offset = 0
    for line in body:
        if line.kind in ("text", "code"):
            if not spans or spans[-1][0] != line.block:
                spans.append([line.block, offset, offset, line.kind == "code"])
            spans[-1][2] = offset + len(line.text)
        offset += len(line.text) + 1
    blocks = []
    for _, start, end, code in spans:
        trimmed = _trim(text, start, end)
        if trimmed is not None:
            blocks.append(_Block(trimmed[0], trimmed[1], bool(code)))
    return text, blocks


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _split_on(gap: re.Pattern[str]) -> Splitter:
    """A splitter cutting at each match of `gap` (or its first non-empty group, when it has groups)."""

    def split(text: str, start: int, end: int, _limit: int) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        cursor = start
        for match in gap.finditer(text, start, end):
            group = next((g for g in range(1, (gap.groups or 0) + 1) if match[g] is not None), 0)
            gap_start, gap_end = match.span(group)
            if (piece := _trim(text, cursor, gap_start)) is not None:
                spans.append(piece)
            cursor = max(cursor, gap_end)
        if (piece := _trim(text, cursor, end)) is not None:
            spans.append(piece)
        return spans

    return split


def _split_chars(_text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """The last resort, for a word longer than a chunk: cut it every `limit` characters."""
    return [(at, min(at + limit, end)) for at in range(start, end, limit)]


_PROSE: tuple[Splitter, ...] = (
    _split_on(_SENTENCE_GAP),
    _split_on(_LINE_GAP),
    _split_on(_WORD_GAP),
    _split_chars,
)
# Code has no sentences: cut between lines first.
_CODE: tuple[Splitter, ...] = (_split_on(_LINE_GAP), _split_on(_WORD_GAP), _split_chars)


def _atoms(text: str, start: int, end: int, splitters: Sequence[Splitter], limit: int) -> Iterator[tuple[int, int]]:
    """Spans of at most `limit` characters covering the block, each cut by the coarsest splitter that fits."""
    if end - start <= limit or not splitters:
        yield start, end
        return
    for piece_start, piece_end in splitters[0](text, start, end, limit):
        yield from _atoms(text, piece_start, piece_end, splitters[1:], limit)


def _pack(text: str, atoms: Sequence[tuple[int, int]], limit: int, overlap: int) -> list[str]:
    """Join consecutive atoms greedily into chunks of at most `limit` characters, with overlap."""
    chunks: list[str] = []
    start: int | None = None
    end = 0
    for atom_start, atom_end in atoms:
        if start is not None and atom_end - start <= limit:
            end = atom_end
            continue
        if start is not None:
            chunks.append(text[start:end])
            # The overlap must fit in front of the new atom, and must come from the previous chunk.
            earliest = max(end - overlap, atom_end - limit, start + 1)
            start = _overlap_start(text, earliest, atom_start)
        else:
            start = atom_start
        end = atom_end
    if start is not None:
        chunks.append(text[start:end])
    return chunks


def _overlap_start(text: str, low: int, high: int) -> int:
    """Where the overlap starts: the first sentence start in [low, high), else the first word start, else
    `high` (no overlap fits). Whole sentences read better than a fragment cut at an arbitrary word."""
    first_word: int | None = None
    for position in range(max(low, 1), high):
        before = text[position - 1]
        if text[position].isspace() or not (before.isspace() or before in _CJK_ENDS):
            continue
        if _ends_sentence(text, position):
            return position
        if first_word is None:
            first_word = position
    return high if first_word is None else first_word


def _ends_sentence(text: str, position: int) -> bool:
    """Whether the text just before `position` (a word start) ends a sentence, a line or a paragraph."""
    cursor = position - 1
    while cursor >= 0 and text[cursor].isspace():
        if text[cursor] == "\n":
            return True
        cursor -= 1
    while cursor >= 0 and text[cursor] in _CLOSERS:
        cursor -= 1
    return cursor >= 0 and (text[cursor] in _SENTENCE_ENDS or text[cursor] in _CJK_ENDS)
