"""SIGTERM drains a worker instead of stopping it at once.

uvicorn stops accepting connections as soon as SIGTERM arrives. Behind a
load balancer that is too early: it has not yet noticed the worker is going
and still sends it new connections, which are refused. So when the app runs
under ``bastion serve``, its first SIGTERM only marks the worker as draining
(``/readyz`` answers 503, responses carry ``Connection: close`` so clients
drop their kept-alive connections; with several workers it also stops
accepting connections, which the others take) and the usual graceful shutdown starts
``shutdown_grace_seconds`` later: stop accepting, finish in-flight requests
(up to ``shutdown_timeout_seconds``), close pools, exit 0. A second SIGTERM
skips the rest of the grace period.

The handler wraps uvicorn's own only when uvicorn's server installed it in
this process's main thread; an application embedded in another server, or
driven by tests, keeps that server's signal handling untouched.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

from bastion.ops.lifecycle import Lifecycle

__all__ = ["drain_on_sigterm"]

log = logging.getLogger("bastion.app")


def _nothing() -> None:
    return None


def drain_on_sigterm(*, grace: float, lifecycle: Lifecycle) -> Callable[[], None]:
    """Install the draining SIGTERM handler if a uvicorn server runs this process.

    Returns the function that puts the previous handler back.
    """
    if threading.current_thread() is not threading.main_thread():
        return _nothing
    previous = signal.getsignal(signal.SIGTERM)
    server = getattr(previous, "__self__", None)
    if not isinstance(server, uvicorn.Server):
        return _nothing
    loop = asyncio.get_running_loop()

    def stop() -> None:
        # Not uvicorn's handler itself: it would re-raise SIGTERM once the server has
        # stopped, and the process would end killed by the signal instead of exiting 0.
        server.should_exit = True

    def begin() -> None:
        log.info(
            "SIGTERM: draining for %g s (/readyz answers 503), then finishing "
            "in-flight requests and stopping",
            grace,
        )
        if server.config.workers > 1:
            # Other workers accept on the shared socket: this one stops taking new
            # connections now, so none it accepts can be closed unanswered when it stops
            # (a connection accepted just before then, whose request had not arrived yet).
            # Alone, it keeps accepting through the grace period: no one else would.
            for listener in getattr(server, "servers", ()):
                listener.close()
        loop.call_later(grace, stop)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if lifecycle.draining:
            loop.call_soon_threadsafe(stop)
            return
        lifecycle.start_draining()
        loop.call_soon_threadsafe(begin)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore
