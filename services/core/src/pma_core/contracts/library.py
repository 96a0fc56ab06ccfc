"""The planner's libraries: SOPs (reusable procedures) and prompt templates, both versioned.

A change to either is a new version, never an in-place edit, so a plan can always say exactly which
SOP version it was based on and which prompt version produced it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, model_validator

from pma_core.contracts.common import RequestModel, UserId
from pma_core.contracts.tasks import MAX_TAGS, MAX_TASKS, Description, Tag, TaskSpec, Title

MAX_STEPS = 30
MAX_TEMPLATE_CHARS = 20_000
# Slugs: lowercase, digits and `_.-`, the same pattern the prompt_templates table checks.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
# `{{name}}` placeholders; anything else in braces (JSON examples) is left alone.
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")

Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NAME_PATTERN)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
VariableName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z_][a-z0-9_]*$")]


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class SopStep(_Strict):
    title: Title
    purpose: Description = Field(default="", description="Why the step exists.")
    inputs: list[Line] = Field(default_factory=list, max_length=20, description="What the step needs.")
    done_criteria: list[Line] = Field(default_factory=list, max_length=20, description="How to know it is done.")


class Sop(_Strict):
    """A standard operating procedure: ordered steps with purpose, inputs and done-criteria."""

    title: Title
    summary: Description = ""
    steps: list[SopStep] = Field(min_length=1, max_length=MAX_STEPS)


class _SopBody(Sop):
    intent: Description = Field(default="", description="The kind of intent it serves; matched against new ones.")
    tasks: list[TaskSpec] = Field(
        default_factory=list,
        max_length=MAX_TASKS,
        description="Task pattern instantiated for a plan based on it: keys unique, `depends_on` naming keys of"
        " this list with no cycle, `step` at most the number of steps (a 422 otherwise).",
    )
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)


class SopCreate(_SopBody):
    user_id: UserId
    name: Name = Field(description="Stable slug of the SOP across its versions, unique per user.")


class SopVersionCreate(_SopBody):
    """A new version of an SOP (an edit): the whole new content."""

    user_id: UserId


class SopRef(BaseModel):
    """Which SOP version a plan is based on."""

    id: UUID
    name: str
    version: int
    title: str


class SopRead(BaseModel):
    id: UUID
    user_id: str
    name: str
    version: int
    title: str
    summary: str
    intent: str
    steps: list[SopStep]
    tasks: list[TaskSpec]
    tags: list[str]
    source_plan_id: UUID | None = Field(description="The accepted plan it was saved from, if any.")
    created_at: datetime


class SopListRead(BaseModel):
    sops: list[SopRead]


def placeholders(body: str) -> set[str]:
    """The variable names a template body uses."""
    return set(PLACEHOLDER.findall(body))


class PromptTemplateCreate(_Strict):
    """A new version of a named prompt; its `{{variable}}` placeholders must be exactly `variables`, and a
    planner prompt's variables those the planner needs and can fill (a 422 otherwise)."""

    body: str = Field(min_length=1, max_length=MAX_TEMPLATE_CHARS)
    variables: list[VariableName] = Field(default_factory=list, max_length=50)
    model: str | None = Field(default=None, max_length=200, description="Overrides the default model.")
    description: str = Field(default="", max_length=1_000)
    activate: bool = Field(default=True, description="Make it the version in use.")

    @model_validator(mode="after")
    def _variables_match_body(self) -> PromptTemplateCreate:
        used, declared = placeholders(self.body), set(self.variables)
        if used - declared:
            raise ValueError(f"the body uses undeclared variables: {', '.join(sorted(used - declared))}")
        if declared - used:
            raise ValueError(f"declared variables the body never uses: {', '.join(sorted(declared - used))}")
        return self


class PromptTemplateRead(BaseModel):
    id: UUID
    name: str
    version: int
    body: str
    variables: list[str]
    model: str | None
    active: bool
    description: str
    created_at: datetime


class PromptTemplateListRead(BaseModel):
    templates: list[PromptTemplateRead]
