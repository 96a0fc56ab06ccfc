"""Planning: an intent (or feedback on a plan) in, a stored plan out, by the LLM or the offline planner.

Before planning it gathers, concurrently: what memory recalls about the user (and the observer's insights),
their execution history (for estimates) and the closest SOP in their library. The LLM path renders the
active prompt template; the offline path is deterministic (offline.py). Either way the draft passes the same
checks (drafts.py). The plan's estimate notes say which insights and history set its estimates
(estimate_notes.py): the offline planner applies them; the LLM is told them in its prompt.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from planner_engine.domain.drafts import PlanDraft, clamp_deadlines
from planner_engine.domain.due import read_due
from planner_engine.domain.estimate_notes import estimate_notes, notes_after_replan, prompt_notes
from planner_engine.domain.estimates import EstimateProfile, build_profile
from planner_engine.domain.lifecycle import ensure_replannable
from planner_engine.domain.matching import SopMatch, best_match
from planner_engine.domain.models import LLMDraft, MemoryContext, NewPlan
from planner_engine.domain.offline import PlanningInput, plan_from_intent, plan_from_sop
from planner_engine.domain.ports import Drafter, History, Memory, PlanStore, SopStore, TemplateStore, Vectoriser
from planner_engine.domain.replan import replan_offline
from planner_engine.domain.sop_drafts import draft_of_plan
from pma_core.clock import Clock, utc_now
from pma_core.contracts.library import SopRead
from pma_core.contracts.plans import PlanCreate, PlannerChoice, PlanRead, Usage
from pma_core.llm.types import LLMNotConfiguredError


@dataclass(frozen=True, slots=True)
class Gathered:
    memory: MemoryContext
    profile: EstimateProfile
    match: SopMatch[SopRead] | None


@dataclass
class Planner:
    plans: PlanStore
    sops: SopStore
    templates: TemplateStore
    history: History
    memory: Memory
    drafter: Drafter
    vectors: Vectoriser
    match_threshold: float
    # Runs work after the response (the lifespan's Background.spawn).
    after: Callable[[Coroutine[Any, Any, None]], None]
    clock: Clock = utc_now

    async def create(self, request: PlanCreate) -> tuple[PlanRead, bool]:
        """(plan, created); a repeated idempotency key returns the first plan without planning again."""
        if request.idempotency_key:
            existing = await self.plans.by_idempotency_key(request.user_id, request.idempotency_key)
            if existing is not None:
                return existing, False
        use_llm = self._use_llm(request.planner)
        request, read_due = self._with_due_from_intent(request)
        gathered = await self._gather(request)
        given = PlanningInput(request.intent, request.context, request.due_at, self.clock(), gathered.profile)
        produced = await (
            self._llm_draft(request, gathered, given) if use_llm else self._offline_draft(gathered, given)
        )
        draft, clamped = clamp_deadlines(produced.draft, request.due_at)
        new = NewPlan(
            user_id=request.user_id, intent=request.intent, context=request.context,
            constraints=request.constraints, due_at=request.due_at, planner="llm" if use_llm else "offline",
            model=produced.model or None, template_id=produced.template_id, usage=produced.usage,
            trace_id=produced.trace_id, sop_id=gathered.match.sop.id if gathered.match else None,
            recalled=gathered.memory.recalled,
            warnings=[*read_due, *gathered.memory.warnings, *clamped, *_overload(draft, request.due_at, given.now)],
            idempotency_key=request.idempotency_key, estimate_notes=produced.estimate_notes,
        )  # fmt: skip
        plan, created = await self.plans.insert(new, draft)
        if created:
            # After the response, not before it: memory is told within milliseconds, and whatever fails
            # here the hand-over sweep finds pending and does again.
            self.after(self._record_created(plan))
        return plan, created

    async def _record_created(self, plan: PlanRead) -> None:
        # The insert leased the event to this call; a failure hands it to the next sweep at once.
        if await self.memory.record_plan_created(plan):
            await self.plans.event_recorded(plan.user_id, plan.id)
        else:
            await self.plans.release_event(plan.user_id, plan.id)

    async def replan(self, user_id: str, plan_id: UUID, feedback: str) -> PlanRead:
        """The plan revised by the feedback; tasks that survive keep their ids (matched by key)."""
        plan = await self.plans.get(user_id, plan_id)
        ensure_replannable(plan.status)
        current = draft_of_plan(plan)
        if self.drafter.configured:
            template = await self.templates.active("planner.replan")
            values = {"intent": plan.intent, "plan": current.model_dump_json(indent=1), "feedback": feedback,
                      "now": self.clock().isoformat()}  # fmt: skip
            result = await self.drafter.draft(template, values, user_id=user_id)
            produced = _Produced(result.draft, result.model, template.id, result.usage, result.trace_id)
        else:
            produced = _Produced(replan_offline(current, feedback), "", None, Usage(), None)
        draft, clamped = clamp_deadlines(produced.draft, plan.due_at)
        extra = NewPlan(
            user_id=user_id, intent=plan.intent, context=plan.context, constraints=plan.constraints,
            due_at=plan.due_at, planner="llm" if self.drafter.configured else "offline", model=produced.model or None,
            template_id=produced.template_id, usage=produced.usage, trace_id=produced.trace_id, sop_id=None,
            recalled=[], warnings=[*clamped, *_overload(draft, plan.due_at, self.clock())], idempotency_key=None,
            estimate_notes=notes_after_replan(plan.estimate_notes, before=current.tasks, after=draft.tasks),
        )  # fmt: skip
        return await self.plans.replace_draft(user_id, plan_id, check=ensure_replannable, draft=draft, extra=extra)

    def _with_due_from_intent(self, request: PlanCreate) -> tuple[PlanCreate, list[str]]:
        """The request with the due date its intent names ("by Friday") when it gives none, and a note."""
        if request.due_at is not None:
            return request, []
        reading = read_due(request.intent, now=self.clock(), constraints=request.constraints)
        due = reading.due
        if due is None:
            # A date that cannot be meant in the future ("by 1 March 2020") is said, not silently dropped.
            return request, [reading.warning] if reading.warning else []
        note = f"due date read from the intent: {due.isoformat()} (send due_at to set it exactly)"
        return request.model_copy(update={"due_at": due}), [note]

    def _use_llm(self, choice: PlannerChoice) -> bool:
        if choice == "offline":
            return False
        if choice == "llm" and not self.drafter.configured:
            raise LLMNotConfiguredError(
                "planner=llm was asked for but no LLM key is set (LLM_API_KEY or OPENROUTER_API_KEY);"
                " use planner=auto or offline",
                details={"planner": choice},
            )
        return self.drafter.configured

    async def _gather(self, request: PlanCreate) -> Gathered:
        memory, runs, match = await asyncio.gather(
            self.memory.context(request.user_id, request.intent),
            self.history.history(request.user_id),
            self._match(request),
        )
        return Gathered(memory=memory, profile=build_profile(runs, insights=memory.insights), match=match)

    async def _match(self, request: PlanCreate) -> SopMatch[SopRead] | None:
        if request.sop_id is not None:
            sop = await self.sops.get(request.user_id, request.sop_id)
            return SopMatch(sop=sop, score=1.0, dense=1.0, overlap=1.0)
        library = await self.sops.candidates(request.user_id)
        if not library:
            return None
        stale = [sop for sop in library if sop.vector is None or sop.embedder != self.vectors.name]
        vectors = await self.vectors.embed([request.intent, *(sop.text for sop in stale)])
        fresh = dict(zip((sop.id for sop in stale), vectors[1:], strict=True))
        for sop_id, vector in fresh.items():
            await self.sops.store_embedding(sop_id, vector, self.vectors.name)
        candidates = [(sop.id, sop.text, fresh.get(sop.id) or sop.vector or []) for sop in library]
        found = best_match(request.intent, vectors[0], candidates, threshold=self.match_threshold)
        if found is None:
            return None
        # Only the winner is read whole: the library is scored on its texts and vectors alone.
        sop = await self.sops.get(request.user_id, found.sop)
        return SopMatch(sop=sop, score=found.score, dense=found.dense, overlap=found.overlap)

    async def _offline_draft(self, gathered: Gathered, given: PlanningInput) -> _Produced:
        made = plan_from_sop(gathered.match.sop, given) if gathered.match else plan_from_intent(given)
        return _Produced(made.draft, "", None, Usage(), None, estimate_notes(made.estimates, gathered.profile))

    async def _llm_draft(self, request: PlanCreate, gathered: Gathered, given: PlanningInput) -> _Produced:
        values = {
            "intent": request.intent,
            "context": request.context or "(none)",
            "due_at": request.due_at.isoformat() if request.due_at else "(no due date)",
            "now": given.now.isoformat(),
            "constraints": json.dumps(request.constraints) if request.constraints else "(none)",
            "recalled": "\n".join(f"- [{r.kind}] {r.text}" for r in gathered.memory.recalled) or "(nothing yet)",
            "estimate_accuracy": gathered.profile.describe(),
        }
        name = "planner.plan"
        if gathered.match is not None:
            name = "planner.adapt"
            values |= _sop_values(gathered.match.sop)
        template = await self.templates.active(name)
        values = {key: value for key, value in values.items() if key in template.variables}
        result: LLMDraft = await self.drafter.draft(template, values, user_id=request.user_id)
        # The LLM's estimates stand as it wrote them (no policy rescales them), so the insights reach them
        # through the prompt only, and only when the template asks for the estimate accuracy.
        notes = prompt_notes(gathered.profile) if "estimate_accuracy" in values else []
        return _Produced(result.draft, result.model, template.id, result.usage, result.trace_id, notes)


@dataclass(frozen=True, slots=True)
class _Produced:
    draft: PlanDraft
    model: str
    template_id: UUID | None
    usage: Usage
    trace_id: str | None
    estimate_notes: list[str] = field(default_factory=list)


def _sop_values(sop: SopRead) -> dict[str, str]:
    body = {"title": sop.title, "summary": sop.summary, "steps": [s.model_dump() for s in sop.steps],
            "tasks": [t.model_dump(mode="json", exclude_none=True) for t in sop.tasks]}  # fmt: skip
    return {"sop_name": sop.name, "sop_version": str(sop.version), "sop": json.dumps(body, indent=1)}


def _overload(draft: PlanDraft, due_at: datetime | None, now: datetime) -> list[str]:
    """A warning when the estimated work cannot fit before the due date, even working around the clock."""
    if due_at is None:
        return []
    work = timedelta(minutes=sum(task.estimate_minutes for task in draft.tasks))
    if work <= due_at - now:
        return []
    hours = work.total_seconds() / 3600
    return [f"the estimated work ({hours:.1f} h) does not fit before the due date; move the date or cut scope"]
