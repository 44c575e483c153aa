"""The worker's place in its life: serving, draining before it stops, or recycling.

One per process: the server's signal handler flips it on SIGTERM, and
``/readyz`` reads it, so a load balancer stops sending traffic while the
worker still answers what it was sent.
"""

from __future__ import annotations

import time

__all__ = ["Lifecycle", "lifecycle"]


class Lifecycle:
    """Whether this worker is draining, and since when."""

    def __init__(self) -> None:
        self._draining_since: float | None = None
        self._recycling = False

    @property
    def draining(self) -> bool:
        """Whether the worker was asked to stop (``/readyz`` answers 503)."""
        return self._draining_since is not None

    def start_draining(self) -> None:
        """Report not-ready from now on (idempotent)."""
        if self._draining_since is None:
            self._draining_since = time.monotonic()

    def start_recycling(self) -> None:
        """The worker ends for a fresh one (``max_requests``): it stays ready, but
        clients should not keep their connections to it."""
        self._recycling = True

    @property
    def closing_connections(self) -> bool:
        """Whether responses should carry ``Connection: close`` (draining or recycling)."""
        return self._recycling or self._draining_since is not None

    def reset(self) -> None:
        """Serving again (a new server in the same process, tests)."""
        self._draining_since = None
        self._recycling = False


lifecycle = Lifecycle()
"""This process's lifecycle."""
