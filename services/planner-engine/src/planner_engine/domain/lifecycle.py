"""The plan lifecycle: which status may follow which (the table is shared with clients in core)."""

from __future__ import annotations

from pma_core.contracts.plans import PLAN_TRANSITIONS
from pma_core.errors import ConflictError

REPLANNABLE = frozenset({"draft", "accepted", "scheduled", "in_progress"})


def ensure_transition(current: str, wanted: str) -> None:
    """409 when `wanted` may not follow `current`, naming what may."""
    allowed = PLAN_TRANSITIONS[current]
    if wanted not in allowed:
        options = ", ".join(sorted(allowed)) or "none: it is final"
        raise ConflictError(
            f"a plan cannot go from {current} to {wanted}; from {current} it can go to: {options}",
            details={"status": current, "requested": wanted, "allowed": sorted(allowed)},
            code="illegal_transition",
        )


def ensure_replannable(current: str) -> None:
    if current not in REPLANNABLE:
        raise ConflictError(
            f"a {current} plan cannot be replanned; make a new plan instead",
            details={"status": current},
            code="illegal_transition",
        )
