"""The parts every service app shares: builder, middleware, error handlers, health, metrics."""

from pma_core.app.builder import build_app
from pma_core.app.readiness import ReadinessCheck

__all__ = ["ReadinessCheck", "build_app"]
