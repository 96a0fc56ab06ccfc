"""The narrative: from the LLM with the active `observer.daily`/`observer.weekly` template when an API key
is set, else (or when the LLM fails and the fallback is `offline`) the deterministic offline narrative.

Templates live in the planner's prompt library and are read through its API; when the planner cannot
be reached the seeded version-1 text is used and the reflection says so.
"""

from __future__ import annotations

import logging
from typing import Literal

from observer_agent.domain.models import Activity, Written
from observer_agent.domain.narrative import daily_narrative, weekly_narrative
from observer_agent.domain.prompting import DEFAULT_BODIES, SYSTEM_PROMPT, prompt_values, template_name
from pma_core.clients import PlannerEngineClient
from pma_core.contracts.library import PLACEHOLDER, PromptTemplateRead
from pma_core.contracts.reflections import DailyMetrics, Narrative, TemplateUsed, WeeklyMetrics
from pma_core.errors import AppError
from pma_core.llm import ChatMessage, LLMClient

_log = logging.getLogger(__name__)
Fallback = Literal["offline", "error"]


def offline(metrics: DailyMetrics | WeeklyMetrics, warnings: list[str] | None = None) -> Written:
    narrative = daily_narrative(metrics) if isinstance(metrics, DailyMetrics) else weekly_narrative(metrics)
    return Written(narrative=narrative, source="offline", warnings=warnings or [])


class ReflectionNarrator:
    def __init__(self, *, llm: LLMClient, planner: PlannerEngineClient, fallback: Fallback) -> None:
        self._llm, self._planner, self._fallback = llm, planner, fallback

    @property
    def configured(self) -> bool:
        return self._llm.settings.api_key is not None

    async def write(self, metrics: DailyMetrics | WeeklyMetrics, activity: Activity) -> Written:
        if not self.configured:
            return offline(metrics)
        name = template_name(metrics)
        template, warnings = await self._template(name)
        values = prompt_values(metrics, activity)
        body = template.body if template else DEFAULT_BODIES[name]
        prompt = PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), body)
        used = TemplateUsed(name=name, version=template.version if template else 1)
        try:
            result = await self._llm.structured(
                messages=[ChatMessage.system(SYSTEM_PROMPT), ChatMessage.user(prompt)],
                output_type=Narrative,
                name=name,
                metadata={"user_id": activity.user_id, "template": f"{name}@v{used.version}"},
                model=template.model if template else None,
            )
        except AppError as exc:
            if self._fallback == "error":
                raise
            _log.warning("LLM narrative failed (%s); using the offline narrative", exc.message)
            return offline(metrics, [*warnings, f"narrative: the LLM failed ({exc.message}); written offline"])
        return Written(narrative=result.value, source="llm", model=result.model, template=used, warnings=warnings)

    async def _template(self, name: str) -> tuple[PromptTemplateRead | None, list[str]]:
        try:
            templates = await self._planner.prompt_templates()
        except AppError as exc:
            return None, [f"narrative: prompt library unavailable ({exc.message}); used {name} v1 as seeded"]
        active = [t for t in templates.templates if t.name == name and t.active]
        if not active:
            return None, [f"narrative: no active {name} template; used v1 as seeded"]
        return active[0], []
