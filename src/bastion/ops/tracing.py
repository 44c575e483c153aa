"""OpenTelemetry tracing (placeholder: the full implementation replaces this module)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Scope

from bastion.core.ports import Telemetry
from bastion.ops.requests import RouteTemplates

__all__ = ["Tracing"]


class Tracing:
    """Placeholder."""

    def __init__(self, *, service_name: str, exporter: Any = None) -> None:
        self.service_name = service_name

    def middleware(self, app: ASGIApp, templates: RouteTemplates) -> ASGIApp:
        return app

    def trace_id(self, scope: Scope) -> str | None:
        return None

    def telemetry(self, inner: Telemetry | None) -> Telemetry | None:
        return inner

    def flush(self) -> None:
        pass
