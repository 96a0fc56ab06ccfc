"""A reflection as one row of the user's Coda "Daily Thread", and fitting its texts into Coda's row limit.

Coda refuses a row edit over 85 KB (400 "Row edit of size 87 KB exceeds maximum size of 85 KB."), and a
request over 2 MB (help centre FAQ, https://help.coda.io/hc/en-us/articles/39555941038349: "The limit for
requests is 2 MB, but there is also a limit of 85 KB for any given row"). Coda counts a row as its values'
UTF-8 bytes with every newline charged twice, in units of 1024 bytes, as users measuring the live API
report it (https://connect.superhuman.com/t/x/44481/1; not verified here: Coda cannot be reached).
A post carries one row, so the row limit is the one that binds. `ROW_BUDGET`
stays below 85 x 1024 = 87,040 because Coda's counting is only known to about a percent and the row's
other cells (formulas, overhead) count too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from pma_core.contracts.reflections import ReflectionKind

CODA_ROW_LIMIT = 85 * 1024
ROW_BUDGET = 80_000
TITLE_BUDGET = 1_000
ELLIPSIS = "…"
_LONG_FIELDS = ("summary", "metrics", "suggestions")
_LAST_SPACE = re.compile(r"\s\S*\Z")


@dataclass(frozen=True, slots=True)
class ThreadRow:
    """One reflection as the Daily Thread shows it; `key` is what upserts match on (`reflection_key`:
    "user|period|kind", so a second post of it updates the row, never adds one)."""

    key: str
    user_id: str
    local_date: date
    kind: ReflectionKind
    title: str
    summary: str
    metrics: str
    suggestions: str
    chart_url: str | None
    updated_at: datetime


def coda_size(text: str) -> int:
    """How much of a row's 85 KB Coda charges for `text`: its UTF-8 bytes, each newline counted twice."""
    return len(text.encode()) + text.count("\n")


def fit_text(text: str, *, budget: int, full_url: str | None = None) -> str:
    """`text` itself when it fits `budget`; else cut on a word boundary, with an ellipsis and, when
    `full_url` is given, a "full reflection: <url>" line, the whole within `budget`."""
    if coda_size(text) <= budget:
        return text
    suffix = ELLIPSIS + (f"\n\nfull reflection: {full_url}" if full_url else "")
    room = budget - coda_size(suffix)
    if room <= 0:  # not even room for the note: a bare cut is all that fits
        return _prefix(text, budget)
    cut = _prefix(text, room)
    if not text[len(cut)].isspace():  # the cut splits a word: drop its start, unless it is one huge word
        boundary = _LAST_SPACE.search(cut)
        if boundary is not None and boundary.start() > len(cut) // 2:
            cut = cut[: boundary.start()]
    return cut.rstrip().rstrip(",;:") + suffix


def fit_row(row: ThreadRow, *, full_url: str | None = None, budget: int = ROW_BUDGET) -> ThreadRow:
    """The row with its long texts cut so that Coda counts the whole row within `budget`.

    Short texts keep all they need; the longer ones share equally what is left, so one huge summary
    cannot starve the suggestions. A row that fits comes back unchanged.
    """
    title = fit_text(row.title, budget=TITLE_BUDGET)
    fixed = (row.key, row.user_id, row.local_date.isoformat(), row.kind, title, row.chart_url or "")
    used = sum(coda_size(text) for text in fixed) + coda_size(row.updated_at.isoformat())
    sizes = {name: coda_size(getattr(row, name)) for name in _LONG_FIELDS}
    shares = _share(budget - used, sizes)
    return replace(
        row,
        title=title,
        summary=fit_text(row.summary, budget=shares["summary"], full_url=full_url),
        metrics=fit_text(row.metrics, budget=shares["metrics"], full_url=full_url),
        suggestions=fit_text(row.suggestions, budget=shares["suggestions"], full_url=full_url),
    )


def _share(total: int, sizes: dict[str, int]) -> dict[str, int]:
    # Water-filling: the smallest first takes what it needs, at most an equal part of what is left.
    shares: dict[str, int] = {}
    left = max(total, 0)
    pending = sorted(sizes, key=sizes.__getitem__)
    while pending:
        name = pending.pop(0)
        shares[name] = min(sizes[name], left // (len(pending) + 1))
        left -= shares[name]
    return shares


def _prefix(text: str, room: int) -> str:
    """The longest start of `text` that Coda counts within `room`."""
    used = 0
    for index, char in enumerate(text):
        used += len(char.encode()) + (char == "\n")
        if used > room:
            return text[:index]
    return text
