"""How a worker run by ``bastion serve`` stops without dropping a request.

uvicorn, asked to stop, closes its listening socket and every idle connection
at once. That drops requests two ways: a load balancer that has not noticed
yet still sends new connections, which are refused; and a connection
accepted, or kept alive, an instant before, whose request is on its way, is
closed unanswered. So a worker stops in steps of its own:

**Draining** (SIGTERM): ``/readyz`` answers 503 and responses carry
``Connection: close`` (clients drop their kept-alive connections), while the
worker still accepts and serves, for ``shutdown_grace_seconds``. Then it
**closes**: it stops accepting, gives connections accepted just before half
a second to deliver their request, and lets uvicorn finish what is in flight
(up to ``shutdown_timeout_seconds``), close the pools and exit 0. A second
SIGTERM skips what is left of the grace period.

**Recycling** (``max_requests``): the worker is one of a supervised pool and
its replacement is on the way, so it does not report itself not-ready; it
sends ``Connection: close`` and closes as above at once. The listening socket
stays open in the supervisor, so connections made meanwhile wait in its
backlog for the next worker instead of being refused.

This takes over only when uvicorn's server runs the application in this
process's main thread (it finds the server through the SIGTERM handler
uvicorn installed); an application embedded in another server, or driven by
tests, keeps that server's behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import threading
from types import FrameType

import uvicorn

from bastion.ops.lifecycle import Lifecycle

__all__ = ["WorkerControl"]

log = logging.getLogger("bastion.app")

_SETTLE_SECONDS = 0.5
"""Between closing the listener and stopping: connections accepted just before deliver
their request, which then counts as in flight."""


class WorkerControl:
    """Drains on SIGTERM and recycles after ``max_requests``, for the uvicorn server running
    this worker. Build it with :meth:`attach`."""

    def __init__(
        self,
        server: uvicorn.Server,
        *,
        grace: float,
        lifecycle: Lifecycle,
        recycle_after: int | None,
        previous_handler: object,
    ) -> None:
        self._server = server
        self._grace = grace
        self._lifecycle = lifecycle
        self._recycle_after = recycle_after
        self._previous = previous_handler
        self._loop = asyncio.get_running_loop()
        self._served = 0
        self._closing = False

    @classmethod
    def attach(
        cls,
        *,
        grace: float,
        lifecycle: Lifecycle,
        max_requests: int | None = None,
        max_requests_jitter: int = 0,
    ) -> WorkerControl | None:
        """Take over stopping from the uvicorn server running this process, if one does."""
        if threading.current_thread() is not threading.main_thread():
            return None
        previous = signal.getsignal(signal.SIGTERM)
        server = getattr(previous, "__self__", None)
        if not isinstance(server, uvicorn.Server):
            return None
        recycle_after = None
        if max_requests is not None:
            recycle_after = max_requests + random.randint(0, max_requests_jitter)
        control = cls(
            server,
            grace=grace,
            lifecycle=lifecycle,
            recycle_after=recycle_after,
            previous_handler=previous,
        )
        signal.signal(signal.SIGTERM, control._on_sigterm)
        return control

    def detach(self) -> None:
        """Give SIGTERM back to uvicorn's handler."""
        if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, self._previous)  # type: ignore[arg-type]

    def request_started(self) -> None:
        """Count a request; the last one before recycling starts the worker's close."""
        self._served += 1
        if self._served == self._recycle_after:
            log.info("served %d requests: recycling this worker", self._served)
            self._lifecycle.start_recycling()
            self._close()

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._lifecycle.draining:
            self._loop.call_soon_threadsafe(self._close)
            return
        self._lifecycle.start_draining()
        self._loop.call_soon_threadsafe(self._begin_draining)

    def _begin_draining(self) -> None:
        log.info(
            "SIGTERM: draining for %g s (/readyz answers 503), then finishing "
            "in-flight requests and stopping",
            self._grace,
        )
        self._loop.call_later(self._grace, self._close)

    def _close(self) -> None:
        if self._closing:
            return
        self._closing = True
        for listener in getattr(self._server, "servers", ()):
            listener.close()
        self._loop.call_later(_SETTLE_SECONDS, self._stop)

    def _stop(self) -> None:
        # Not uvicorn's signal handler: it would re-raise SIGTERM once the server has
        # stopped, and the process would end killed by the signal instead of exiting 0.
        self._server.should_exit = True
