"""Prometheus metrics, one registry per app so that several apps in one process (tests) never clash."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class HttpMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pma_http_requests_total",
            "HTTP requests served, by route template and status.",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "pma_http_request_duration_seconds",
            "Time to serve an HTTP request, by route template.",
            ["service", "method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.service = service

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(self.service, method, route, str(status)).inc()
        self.duration.labels(self.service, method, route).observe(seconds)
