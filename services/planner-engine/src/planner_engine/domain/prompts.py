"""Prompt rendering: a template body with `{{variable}}` placeholders, filled from the planner's values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from pma_core.contracts.library import PLACEHOLDER
from pma_core.errors import ValidationFailedError

SYSTEM_PROMPT = (
    "You are a meticulous planning assistant. You turn intents into standard operating procedures and "
    "tasks a calendar scheduler can place. Reply only with the JSON object the schema describes."
)
# The values the planner supplies to each of its prompts: a template may use any of them, no other.
SUPPLIED_VARIABLES: dict[str, frozenset[str]] = {
    "planner.plan": frozenset({"intent", "context", "due_at", "now", "constraints", "recalled", "estimate_accuracy"}),
    "planner.adapt": frozenset(
        {
            "sop_name",
            "sop_version",
            "sop",
            "intent",
            "context",
            "due_at",
            "now",
            "constraints",
            "recalled",
            "estimate_accuracy",
        }
    ),
    "planner.replan": frozenset({"intent", "plan", "feedback", "now"}),
}
# The variables each planner prompt must declare: without them the planner cannot fill it sensibly.
REQUIRED_VARIABLES: dict[str, frozenset[str]] = {
    "planner.plan": frozenset({"intent"}),
    "planner.adapt": frozenset({"intent", "sop"}),
    "planner.replan": frozenset({"plan", "feedback"}),
}


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    id: UUID
    name: str
    version: int
    body: str
    variables: list[str]
    model: str | None


def _invalid_variables(message: str, kind: str) -> ValidationFailedError:
    return ValidationFailedError(
        f"invalid request: body.variables: {message}",
        details=[{"field": "body.variables", "message": message, "type": kind}],
    )


def ensure_usable_variables(name: str, variables: list[str]) -> None:
    """422 when a planner prompt leaves out a variable the planner relies on, or uses one it never supplies."""
    missing = REQUIRED_VARIABLES.get(name, frozenset()) - set(variables)
    if missing:
        raise _invalid_variables(f"template {name} must use: {', '.join(sorted(missing))}", "missing_variables")
    supplied = SUPPLIED_VARIABLES.get(name)
    unknown = set(variables) - supplied if supplied is not None else set()
    if unknown:
        known = ", ".join(sorted(supplied or ()))
        raise _invalid_variables(
            f"template {name} cannot use {', '.join(sorted(unknown))}: the planner supplies only {known}",
            "unknown_variables",
        )


def render(template: PromptTemplate, values: Mapping[str, str]) -> str:
    """The body with every placeholder filled; a placeholder without a value is a server-side bug."""
    missing = set(template.variables) - set(values)
    if missing:
        raise ValueError(f"no value for {', '.join(sorted(missing))} in template {template.name} v{template.version}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template.body)
