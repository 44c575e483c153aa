"""The webhook port: posting one signed delivery to a subscriber's endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["PostResult", "WebhookPoster"]


class PostResult(Protocol):
    """How one HTTP delivery went."""

    @property
    def ok(self) -> bool:
        """The endpoint answered 2xx."""
        ...

    @property
    def status(self) -> int | None:
        """The HTTP status, ``None`` when there was no answer (timeout, refused, unsafe)."""
        ...

    @property
    def error(self) -> str | None:
        """Why it failed, in a few words."""
        ...

    @property
    def duration_seconds(self) -> float:
        """How long the attempt took."""
        ...


class WebhookPoster(Protocol):
    """Posts deliveries (the SSRF-guarded HTTP sender in ``adapters.webhooks``)."""

    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> PostResult:
        """POST ``body`` with ``headers`` to ``url``; never raises for network failures."""
        ...
