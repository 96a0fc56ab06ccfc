"""The curl examples of README.md and docs/*.md, read as a shell reader would, so a test can run them.

An example is a `curl` command in a fenced shell block (bash, sh, shell, console or untagged) or in an
inline code span, possibly written `NAME=$(curl ... | jq -r .path)` to keep an id for the examples after
it (`$NAME`). The comment right under a command, `# 201 {...}` (or `# -> 201`), is what it answers: a
status and, optionally, JSON in which `...` stands for what is left out (more keys, more items, the rest
of a string). What the comment does not show (or a comment that is prose) asks only for a 2xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console", "zsh"}
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```|~~~)\s*(?P<lang>[\w+-]*)\s*$")
_INLINE_CURL = re.compile(r"`(curl [^`]+)`")
_CURL = re.compile(r"(?<![\w./-])curl\s+(?=\S)")
_STATUS = re.compile(r"^(?:->\s*)?(?P<status>[1-5]\d\d)\b[:,]?\s*(?P<rest>.*)$", re.DOTALL)


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Expected:
    """What the doc says a command answers: the status, and the JSON shown (`None`: nothing shown)."""

    status: int
    body: Any = None


@dataclass(frozen=True)
class Example:
    doc: str  # path from the repository root
    line: int  # where the command starts, 1-based
    text: str  # the command as written, continuation lines joined, its trailing comment dropped
    expected: Expected | None

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


# ---- reading shell the way a shell does: quotes, comments, continuation lines


def _split_comment(line: str, quote: str | None) -> tuple[str, str | None, str | None]:
    """(code, comment, quote still open at the end) of one physical line that starts inside `quote`."""
    at = 0
    while at < len(line):
        char = line[at]
        if quote == "'":
            quote = None if char == "'" else quote
        elif char == "\\":
            at += 1  # the next character is literal (a trailing one continues the line)
        elif quote == '"':
            quote = None if char == '"' else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or line[at - 1].isspace()):
            return line[:at].rstrip(), line[at + 1 :].strip(), None
        at += 1
    return line, None, quote


@dataclass(frozen=True)
class _Line:
    """A command (continuation lines joined as the shell joins them) or a comment-only or blank line."""

    first: int  # index of its first and last physical line in the block
    last: int
    code: str
    comment: str | None


def _logical_lines(lines: list[str]) -> Iterator[_Line]:
    first, code, quote = 0, "", None
    for index, raw in enumerate(lines):
        if not code and quote is None:
            first = index
        part, comment, quote = _split_comment(raw, quote)
        if quote is None and part.endswith("\\") and not part.endswith("\\\\"):
            code += part[:-1]
            continue
        code += part + ("\n" if quote else "")
        if quote is None:
            yield _Line(first, index, code.strip(), comment)
            code = ""


def _fenced_blocks(lines: list[str]) -> Iterator[tuple[str, int, list[str]]]:
    """(language, index of its first line, lines) of each fenced code block, its indentation removed."""
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        body = [line[indent:] if not line[:indent].strip() else line.lstrip() for line in lines[index + 1 : end]]
        yield opening["lang"].lower(), index + 1, body
        index = end + 1


def _lines_in_blocks(lines: list[str]) -> set[int]:
    """Indexes of the lines inside fenced blocks, fences included."""
    inside: set[int] = set()
    for _, first, body in _fenced_blocks(lines):
        inside.update(range(first - 1, first + len(body) + 1))
    return inside


def curl_mentions(path: Path) -> int:
    """How many curl commands a doc holds in any code block or inline code span, whatever the language."""
    lines = path.read_text().splitlines()
    in_blocks = sum(len(_CURL.findall("\n".join(body))) for _, _, body in _fenced_blocks(lines))
    inside = _lines_in_blocks(lines)
    inline = [line for index, line in enumerate(lines) if index not in inside]
    return in_blocks + sum(len(_INLINE_CURL.findall(line)) for line in inline)


def examples(path: Path) -> list[Example]:
    """Every curl example of one doc, in the order a reader meets it."""
    lines = path.read_text().splitlines()
    doc = path.relative_to(ROOT).as_posix()
    found: list[Example] = []
    for lang, first, body in _fenced_blocks(lines):
        if lang in SHELL_LANGUAGES:
            found += _block_examples(doc, first, [line.removeprefix("$ ") for line in body])
    inside = _lines_in_blocks(lines)
    for index, line in enumerate(lines):
        if index not in inside:
            found += [Example(doc, index + 1, command, None) for command in _INLINE_CURL.findall(line)]
    return sorted(found, key=lambda example: example.line)


def _block_examples(doc: str, first: int, body: list[str]) -> list[Example]:
    parsed = list(_logical_lines(body))
    found = []
    for position, line in enumerate(parsed):
        if _CURL.search(line.code):
            under = _comments_under(parsed[position + 1 :], after=line.last)
            found.append(Example(doc, first + line.first + 1, line.code, _expected(line.comment, under)))
    return found


def _comments_under(rest: list[_Line], *, after: int) -> list[str]:
    """The comment-only lines right under a command (no blank line, no other command between)."""
    comments = []
    for line in rest:
        if line.code or line.comment is None or line.first != after + 1:
            break
        comments.append(line.comment)
        after = line.last
    return comments


def _expected(trailing: str | None, under: list[str]) -> Expected | None:
    """The answer shown: a status comment on the command's own line, else on the line right under it."""
    for text, more in ((trailing, []), (under[0] if under else None, under[1:])):
        match = _STATUS.match(text or "")
        if match:
            return Expected(int(match["status"]), _shown_body(match["rest"], more))
    return None


def _shown_body(first: str, more: list[str]) -> Any:
    """The JSON after the status, continued over the comment lines under it until its brackets close."""
    if not first.startswith(("{", "[")):
        return None
    text = first
    for line in more:
        if _closes(text):
            break
        text += " " + line
    return parse_shown(text)


def _closes(text: str) -> bool:
    """Whether the JSON value that `text` starts with ends within it."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            in_string = escaped or char != '"'
            escaped = not escaped and char == "\\"
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return True
    return False


# ---- JSON as docs show it: `...` for what is left out


class _Shown:
    """A parser for JSON in which `...` may stand for object members, array items or a value."""

    _NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
    _STRING = re.compile(r'"(?:[^"\\]|\\.)*"')

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def value(self) -> Any:
        self._skip()
        char = self.text[self.at]
        if self.text.startswith("...", self.at):
            self.at += 3
            return ...
        if char in "{[":
            return self._container(char)
        if char == '"':
            string = self._STRING.match(self.text, self.at)
            if not string:
                raise ValueError(f"unterminated string at {self.text[self.at : self.at + 30]!r}")
            self.at = string.end()
            return json.loads(string.group())
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.at):
                self.at += len(word)
                return literal
        number = self._NUMBER.match(self.text, self.at)
        if not number:
            raise ValueError(f"not JSON at {self.text[self.at : self.at + 30]!r}")
        self.at = number.end()
        return json.loads(number.group())

    def _container(self, opening: str) -> Any:
        closing, items, members = "}" if opening == "{" else "]", [], {}
        self.at += 1
        while self._skip() != closing:
            item = self.value()
            if opening == "{" and item is not ...:
                self._skip()
                self._expect(":")
                members[item] = self.value()
            elif opening == "{":
                members[...] = ...
            else:
                items.append(item)
            if self._skip() == ",":
                self.at += 1
        self.at += 1
        return members if opening == "{" else items

    def _skip(self) -> str:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1
        if self.at >= len(self.text):
            raise ValueError(f"unterminated JSON: {self.text[:60]!r}...")
        return self.text[self.at]

    def _expect(self, char: str) -> None:
        if self.text[self.at] != char:
            raise ValueError(f"expected {char!r} at {self.text[self.at : self.at + 30]!r}")
        self.at += 1


def parse_shown(text: str) -> Any:
    return _Shown(text).value()


def json_blocks(path: Path) -> list[tuple[int, Any]]:
    """(line, value) of each `json` block of a doc, read as JSON with `...` in it (a ValueError if it is not)."""
    found = []
    for lang, first, body in _fenced_blocks(path.read_text().splitlines()):
        if lang == "json":
            found.append((first + 1, parse_shown("\n".join(body))))
    return found


# Values that differ from run to run: only their presence is checked.
VOLATILE_KEYS = {"score", "parts", "took_ms", "latency_ms", "solve_ms", "objective", "bound", "ttl_seconds"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ELIDED_ID = re.compile(r"^[0-9a-f-]*\.\.\.[0-9a-f-]*$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def mismatches(shown: Any, actual: Any, path: str = "") -> list[str]:
    """Where `actual` differs from what the doc shows: every key shown is there, lists hold the items shown
    (all of them unless `...` says more follow), values are equal except ids and moments (any string)."""
    if shown is ...:
        return []
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{path or '.'}: shown an object, got {actual!r}"]
        found = []
        for key, value in shown.items():
            if key is ...:
                continue
            if key not in actual:
                found.append(f"{path}.{key}: shown, but not in the answer")
            elif key not in VOLATILE_KEYS:
                found += mismatches(value, actual[key], f"{path}.{key}")
        return found
    if isinstance(shown, list):
        return _list_mismatches(shown, actual, path)
    return _leaf_mismatches(shown, actual, path)


def _list_mismatches(shown: list[Any], actual: Any, path: str) -> list[str]:
    if not isinstance(actual, list):
        return [f"{path}: shown a list, got {actual!r}"]
    elided = ... in shown
    head = shown[: shown.index(...)] if elided else shown
    tail = shown[len(head) + 1 :] if elided else []
    if len(actual) < len(head) + len(tail) or (not elided and len(actual) != len(shown)):
        count = f"at least {len(head) + len(tail)}" if elided else str(len(shown))
        return [f"{path}: shown {count} items, got {len(actual)}: {actual!r}"]
    found = []
    for index, item in enumerate(head):
        found += mismatches(item, actual[index], f"{path}[{index}]")
    for index, item in enumerate(tail, start=len(actual) - len(tail)):
        found += mismatches(item, actual[index], f"{path}[{index}]")
    return found


def _leaf_mismatches(shown: Any, actual: Any, path: str) -> list[str]:
    if isinstance(shown, str) and (_ELIDED_ID.match(shown) or _MOMENT.match(shown)):
        same = isinstance(actual, str)
    elif isinstance(shown, str) and isinstance(actual, str):
        same = _elided_equal(_UUID.sub("<id>", shown), _UUID.sub("<id>", actual))
    else:
        same = (type(shown) is type(actual) or {type(shown), type(actual)} == {int, float}) and shown == actual
    return [] if same else [f"{path}: shown {shown!r}, got {actual!r}"]


def _elided_equal(shown: str, actual: str) -> bool:
    """`actual` is `shown` with text in place of each `...`."""
    pieces = shown.split("...")
    if len(pieces) == 1:
        return shown == actual
    if not actual.startswith(pieces[0]) or len(actual) < len(pieces[0]) + len(pieces[-1]):
        return False
    at = len(pieces[0])
    for piece in pieces[1:-1]:
        at = actual.find(piece, at)
        if at < 0:
            return False
        at += len(piece)
    return actual.endswith(pieces[-1]) and at <= len(actual) - len(pieces[-1])
