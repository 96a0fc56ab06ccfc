"""All SQL and third-party calls of the scheduler-engine."""
