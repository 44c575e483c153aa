"""Background sampling for metrics: event loop lag, and garbage collector pauses.

:class:`LoopSampler` is one task that sleeps a fixed interval and measures
how late it wakes up: the event loop's lag, the time every request waited
behind whatever held the loop. Each wake-up also runs the samplers it was
given (memory, pool gauges), so a sample costs one timer per interval.

:class:`GcPauses` times every collection through ``gc.callbacks``. The
callback only appends to a bounded buffer: it may run inside any allocation,
including one made while a metric holds prometheus-client's lock (a single
process-wide lock in multiprocess mode), so metrics are written later, from
the sampler, never from the callback.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["GcPause", "GcPauses", "LoopSampler"]

log = logging.getLogger("bastion.metrics")


@dataclass(frozen=True, slots=True)
class GcPause:
    """One garbage collection."""

    generation: int
    seconds: float
    collected: int
    uncollectable: int


class GcPauses:
    """Times garbage collections while installed (``install`` / ``remove``).

    Args:
        limit: collections kept until :meth:`drain`; older ones are dropped
            past it, so a process that never drains cannot grow.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._pending: collections.deque[GcPause] = collections.deque(maxlen=limit)
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._pending.append(
                GcPause(
                    info["generation"],
                    time.perf_counter() - self._started,
                    info["collected"],
                    info["uncollectable"],
                )
            )

    @property
    def installed(self) -> bool:
        """Whether collections are being timed."""
        return self._callback in gc.callbacks

    def install(self) -> None:
        """Start timing collections."""
        if not self.installed:
            gc.callbacks.append(self._callback)

    def remove(self) -> None:
        """Stop timing collections."""
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def drain(self) -> list[GcPause]:
        """The collections timed since the last drain, oldest first."""
        pending = self._pending
        drained: list[GcPause] = []
        while pending:
            drained.append(pending.popleft())
        return drained


class LoopSampler:
    """A task that wakes every ``interval`` seconds, reports its lag, then runs ``samplers``.

    Args:
        interval: seconds between two wake-ups.
        on_lag: told how many seconds late each wake-up was.
        samplers: called after each wake-up; one that raises is logged once and kept.
    """

    def __init__(
        self,
        *,
        interval: float,
        on_lag: Callable[[float], None],
        samplers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.interval = interval
        self._on_lag = on_lag
        self._samplers = list(samplers)
        self._task: asyncio.Task[None] | None = None
        self._failed: set[Callable[[], None]] = set()

    @property
    def running(self) -> bool:
        """Whether the sampling task runs."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the task on the running loop (once)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="bastion-metrics-sampler"
            )

    async def stop(self) -> None:
        """Stop the task and take a last sample."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.sample()

    def sample(self) -> None:
        """Run every sampler now."""
        for sampler in self._samplers:
            try:
                sampler()
            except Exception:
                if sampler not in self._failed:
                    self._failed.add(sampler)
                    log.exception("a metrics sampler failed (reported once)")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self._on_lag(max(0.0, loop.time() - expected))
            self.sample()
