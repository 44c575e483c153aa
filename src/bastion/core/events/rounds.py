"""The loop of a background worker (the outbox relay, the delivery runner): rounds of
work until it is stopped.

After a round that did something, the next starts at once; after one that found
nothing, it waits ``poll_seconds`` or until woken (a commit wakes the relay);
after a failure, it backs off exponentially with jitter (0.1 s doubling to 10 s),
so an outage of the database or the broker costs a log line per retry, not a
busy loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from bastion.core.errors import StoreUnavailable
from bastion.core.ports.broker import BrokerUnavailable

__all__ = ["Rounds"]

log = logging.getLogger("bastion.events")

_EXPECTED = (BrokerUnavailable, StoreUnavailable, OSError)
"""Failures that are outages, logged without a stack trace."""


class Rounds:
    """Runs ``work`` in rounds from :meth:`run` until :meth:`stop`.

    Args:
        work: one round; truthy (a count above 0) when it did something (the next round
            starts at once).
        poll_seconds: the wait after a round that found nothing (unless woken).
        failing: what a failed round was doing, for the log (``"publishing events"``).
        on_failure: told of each failure (statistics).
    """

    def __init__(
        self,
        work: Callable[[], Awaitable[object]],
        *,
        poll_seconds: float,
        failing: str,
        on_failure: Callable[[Exception], None] | None = None,
    ) -> None:
        self._work = work
        self._poll_seconds = poll_seconds
        self._failing = failing
        self._on_failure = on_failure
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Start the next round now if the loop is waiting for work."""
        self._wake.set()

    def stop(self) -> None:
        """Make :meth:`run` return after its current round."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Run rounds until :meth:`stop`."""
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                did_something = bool(await self._work())
            except Exception as exc:
                failures += 1
                if self._on_failure is not None:
                    self._on_failure(exc)
                delay = min(10.0, 0.1 * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0)
                log.warning(
                    "%s failed (%s: %s); retrying in %.1f s",
                    self._failing,
                    type(exc).__name__,
                    exc,
                    delay,
                    exc_info=None if isinstance(exc, _EXPECTED) else exc,
                )
                await self._wait(self._stopping, delay)
                continue
            failures = 0
            if not did_something:
                await self._wait(self._wake, self._poll_seconds)

    @staticmethod
    async def _wait(event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)
