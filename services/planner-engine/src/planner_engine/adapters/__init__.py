"""All SQL and third-party calls of the planner-engine."""
