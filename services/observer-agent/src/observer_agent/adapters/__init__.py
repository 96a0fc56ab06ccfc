"""All SQL and third-party calls of the observer-agent."""
