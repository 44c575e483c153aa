"""Bringing a worker's feature flags up to date before each request.

Apart from :mod:`bastion.ops.flags` (the OpenFeature provider), so that a worker
imports the OpenFeature SDK only when its blueprint declares flags.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.core.flags import FlagSync

__all__ = ["FlagRefresh"]


class FlagRefresh:
    """ASGI middleware: brings the worker's flags up to date before each HTTP request.

    Installed only when the blueprint declares flags (see :mod:`bastion.core.flags.sync`
    for what a refresh costs).
    """

    def __init__(self, app: ASGIApp, *, sync: FlagSync) -> None:
        self.app = app
        self.sync = sync

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.sync.refresh()
        await self.app(scope, receive, send)
