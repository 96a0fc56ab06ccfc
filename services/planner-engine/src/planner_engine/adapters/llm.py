"""The LLM planner: a rendered prompt template in, a validated plan draft out, through core's LLM client."""

from __future__ import annotations

from collections.abc import Mapping

from planner_engine.domain.drafts import PlanDraft
from planner_engine.domain.models import LLMDraft
from planner_engine.domain.prompts import SYSTEM_PROMPT, PromptTemplate, render
from pma_core.contracts.plans import Usage
from pma_core.llm import ChatMessage, LLMClient


class LLMPlanner:
    def __init__(self, client: LLMClient) -> None:
        self._client = client

    @property
    def configured(self) -> bool:
        """An API key is set: without one the offline planner plans."""
        return self._client.settings.api_key is not None

    async def draft(self, template: PromptTemplate, values: Mapping[str, str], *, user_id: str) -> LLMDraft:
        """One structured call (plus the client's one repair attempt); 502 when the output stays invalid."""
        result = await self._client.structured(
            messages=[ChatMessage.system(SYSTEM_PROMPT), ChatMessage.user(render(template, values))],
            output_type=PlanDraft,
            name=template.name,
            metadata={"user_id": user_id, "template": f"{template.name}@v{template.version}"},
            model=template.model,
        )
        usage = result.usage
        return LLMDraft(
            draft=result.value,
            model=result.model,
            usage=Usage(
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
                cost_usd=usage.cost_usd,
            ),
            trace_id=result.trace_id,
        )
