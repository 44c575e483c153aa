"""A login throttle in this process's memory: for a single worker, tests, and as the
fallback of a shared throttle whose server is down.

Memory is bounded: past ``max_keys`` keys the entries with the oldest last
failure are dropped, so a flood of failures for random login names cannot
exhaust memory. Dropping a key forgets its failures early, which only
matters under such a flood; the per-IP key limits the flood itself.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bastion.core.identity.throttling import ThrottlePolicy, bounded_key

__all__ = ["MemoryLoginThrottle"]


@dataclass(slots=True)
class _Entry:
    failures: int
    forget_at: float
    """When the failure count expires (``window`` after the last failure)."""
    locked_until: float


class MemoryLoginThrottle:
    """Implements :class:`~bastion.core.ports.LoginThrottle` in memory.

    Args:
        clock: Seconds on a clock that never goes back (``time.monotonic``).
        max_keys: The most keys kept; the least recently failed go first.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, not {max_keys}")
        self._clock = clock
        self._max_keys = max_keys
        # Ordered by last failure, oldest first: a failure moves its key to the end.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are held (expired ones included until they are next looked at)."""
        return len(self._entries)

    async def locked_for(self, key: str) -> float:
        """Seconds ``key`` is still locked; ``0.0`` if it is free."""
        entry = self._entries.get(bounded_key(key))
        if entry is None:
            return 0.0
        return max(entry.locked_until - self._clock(), 0.0)

    async def record_failure(self, key: str, policy: ThrottlePolicy) -> float:
        """Count one failure for ``key`` and return the lock now in force, in seconds."""
        now = self._clock()
        stored = bounded_key(key)
        entry = self._entries.pop(stored, None)
        if entry is None:
            entry = _Entry(failures=0, forget_at=now, locked_until=now)
        if entry.forget_at <= now:
            entry.failures = 0
        entry.failures += 1
        entry.forget_at = now + policy.window.total_seconds()
        lock = policy.lock_for(entry.failures).total_seconds()
        entry.locked_until = max(entry.locked_until, now + lock)
        self._drop_stale(now)
        while len(self._entries) >= self._max_keys:
            self._entries.popitem(last=False)
        self._entries[stored] = entry
        return max(entry.locked_until - now, 0.0)

    def _drop_stale(self, now: float) -> None:
        # Stops at the first live entry: policies may differ in window, so a later
        # entry can still be stale, but it will go when it reaches the front.
        while self._entries:
            entry = next(iter(self._entries.values()))
            if entry.forget_at > now or entry.locked_until > now:
                return
            self._entries.popitem(last=False)

    async def reset(self, key: str) -> None:
        """Forget ``key``'s failures and lift its lock."""
        self._entries.pop(bounded_key(key), None)

    async def close(self) -> None:
        """Forget every key."""
        self._entries.clear()
