"""The SOP library as users edit it directly: create an SOP, add a version; each stored with its vector."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError

from planner_engine.domain.drafts import PlanDraft
from planner_engine.domain.matching import embedding_text
from planner_engine.domain.models import SopContent
from planner_engine.domain.ports import SopStore, Vectoriser
from pma_core.contracts.library import Sop, SopCreate, SopRead, SopVersionCreate
from pma_core.errors import ConflictError, ValidationFailedError


@dataclass
class SopLibrary:
    sops: SopStore
    vectors: Vectoriser

    async def create(self, new: SopCreate) -> SopRead:
        if await self.sops.name_taken(new.user_id, new.name):
            raise ConflictError(
                f"an SOP named {new.name} exists; add a version with POST /v1/sops/{{id}}/versions",
                details={"name": new.name},
                code="sop_exists",
            )
        return await self.sops.add_version(new.user_id, new.name, await self._content(new))

    async def add_version(self, sop_id: UUID, new: SopVersionCreate) -> SopRead:
        """The next version under the name of SOP `sop_id` (any version of it)."""
        base = await self.sops.get(new.user_id, sop_id)
        return await self.sops.add_version(new.user_id, base.name, await self._content(new))

    async def _content(self, new: SopVersionCreate | SopCreate) -> SopContent:
        if new.tasks:
            # The task pattern must be a valid plan draft: unique keys, known dependencies, no cycles.
            try:
                PlanDraft(sop=Sop(title=new.title, summary=new.summary, steps=new.steps), tasks=new.tasks)
            except ValidationError as exc:
                # Each error's own message: the text of the exception ends in a documentation link instead.
                message = "; ".join(error["msg"] for error in exc.errors())
                raise ValidationFailedError(
                    f"invalid request: body.tasks: {message}",
                    details=[{"field": "body.tasks", "message": message, "type": "invalid_tasks"}],
                ) from exc
        text = embedding_text(title=new.title, intent=new.intent, summary=new.summary, steps=new.steps)
        (vector,) = await self.vectors.embed([text])
        return SopContent(
            title=new.title, summary=new.summary, intent=new.intent, steps=new.steps, tasks=new.tasks,
            tags=new.tags, embedding=vector, embedder=self.vectors.name,
        )  # fmt: skip
