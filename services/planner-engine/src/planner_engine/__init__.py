"""planner-engine: intent -> SOP -> tasks."""

__version__ = "0.1.0"
