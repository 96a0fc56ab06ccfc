"""The observer's prompts: `observer.daily` and `observer.weekly`, versioned in the planner's prompt
library (seeded by migrations/009_observer.sql), and the values the observer fills them with.

The LLM receives the computed metrics and the records' titles; it writes words only. A template that
cannot be fetched (the planner down) falls back to the seeded text below, and the reflection says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from observer_agent.domain.models import Activity
from pma_core.contracts.reflections import DailyMetrics, WeeklyMetrics

SYSTEM_PROMPT = (
    "You write short, concrete reflections on a person's working day or week from measured figures. "
    "Never invent or change a number; cite the figure or record each suggestion rests on. "
    "Reply only with the JSON object the schema describes."
)
SUPPLIED_VARIABLES = frozenset({"period", "metrics", "done", "carried_over", "slipped", "events", "time_zone"})

DEFAULT_BODIES: dict[str, str] = {
    "observer.daily": """Reflect on the user's day {{period}} ({{time_zone}}).

Measured figures (JSON; every number is final, do not recompute): {{metrics}}
Done: {{done}}
Carried over: {{carried_over}}
Deadlines slipped: {{slipped}}
Events logged: {{events}}

Write: a one-sentence summary; wins; blockers; what slipped and why (one or two sentences); one change for
tomorrow; one to three concrete suggestions, each with the evidence (a figure above) it rests on.""",
    "observer.weekly": """Reflect on the user's week {{period}} ({{time_zone}}).

Measured figures per day and in total, with the trend against the week before (JSON; every number is
final): {{metrics}}
Done: {{done}}
Still open: {{carried_over}}
Deadlines slipped: {{slipped}}
Events logged: {{events}}

Write: a one-sentence summary; wins; blockers; what slipped and why; one change for next week; one to
three concrete suggestions, each with the evidence (a figure above) it rests on.""",
}


def template_name(metrics: DailyMetrics | WeeklyMetrics) -> str:
    return "observer.daily" if isinstance(metrics, DailyMetrics) else "observer.weekly"


def _titles(titles: list[str]) -> str:
    return "; ".join(titles[:30]) if titles else "none"


def prompt_values(metrics: DailyMetrics | WeeklyMetrics, activity: Activity) -> Mapping[str, str]:
    """Everything a template may use, as text."""
    done = sorted({t.title for t in activity.tasks.values() if t.status == "done"})
    carried = [f"{c.title} (rolled {c.times_rolled}x)" for c in metrics.carry_overs]
    slipped = [f"{s.title} (due {s.deadline:%Y-%m-%d %H:%M} UTC)" for s in metrics.slipped_deadlines]
    figures = metrics.model_dump(mode="json", exclude={"carry_overs", "slipped_deadlines", "sources"})
    events = figures.get("events") or (figures.get("totals") or {}).get("events") or {}
    return {
        "period": str(metrics.date) if isinstance(metrics, DailyMetrics) else metrics.week,
        "time_zone": metrics.time_zone,
        "metrics": json.dumps(figures, separators=(",", ":"), sort_keys=True),
        "done": _titles(done),
        "carried_over": _titles(carried),
        "slipped": _titles(slipped),
        "events": json.dumps(events, sort_keys=True) if events else "none",
    }
