"""scheduler-engine settings: the core concerns (its own settings arrive with its issue)."""

from __future__ import annotations

from pma_core.settings import CoreSettings


class Settings(CoreSettings):
    service_name: str = "scheduler-engine"
