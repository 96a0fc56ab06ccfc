"""scheduler-engine: tasks -> Google Calendar blocks."""

__version__ = "0.1.0"
