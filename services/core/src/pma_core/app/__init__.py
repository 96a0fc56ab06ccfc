"""The parts every service app shares: builder, middleware, error handlers, health, metrics."""

from pma_core.app.builder import LifespanState, app_from_environment, build_app
from pma_core.app.readiness import ReadinessCheck

__all__ = ["LifespanState", "ReadinessCheck", "app_from_environment", "build_app"]
