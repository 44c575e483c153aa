"""Prometheus metrics (placeholder: the full implementation replaces this module)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute

from bastion.core.ports import NullTelemetry, PoolStats, Telemetry
from bastion.ops.requests import FinishedRequest

__all__ = ["Metrics"]


class _NoObserver:
    def started(self, method: str) -> None:
        pass

    def finished(self, request: FinishedRequest) -> None:
        pass


class Metrics:
    """Placeholder."""

    def __init__(self, *, token: str | None = None, serve_route: bool = True) -> None:
        self.telemetry: Telemetry = NullTelemetry()
        self.observer = _NoObserver()

    def routes(self) -> list[BaseRoute]:
        return []

    def watch_pool(self, stats: Callable[[], PoolStats | None]) -> None:
        pass

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
