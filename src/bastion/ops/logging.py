"""Structured logs (placeholder: the full implementation replaces this module)."""

from __future__ import annotations

from bastion.ops.requests import FinishedRequest

__all__ = ["AccessLog"]


class AccessLog:
    """Placeholder."""

    def started(self, method: str) -> None:
        pass

    def finished(self, request: FinishedRequest) -> None:
        pass
