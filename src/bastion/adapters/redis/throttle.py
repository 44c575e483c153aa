"""A login throttle in Redis, shared by every worker, that keeps working while Redis is down.

Each key has two Redis keys: ``<prefix>throttle:fail:<key>``, its failure
count, which expires ``window`` after the last failure, and
``<prefix>throttle:lock:<key>``, present while the key is locked and expiring
with the lock. One Lua script counts a failure and sets the lock, so workers
racing on a key cannot lose a count. Keys longer than
:data:`~bastion.core.identity.throttling.MAX_KEY_LENGTH` bytes are stored by
their SHA-256.

When Redis cannot be reached the throttle logs one warning and uses its
``fallback``, an in-process throttle, so logins keep working (each worker
then counts on its own); it tries Redis again ``retry_after`` seconds later
and uses it as soon as it answers.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import redis.asyncio
from redis.exceptions import RedisError

from bastion.core.identity.throttling import ThrottlePolicy, bounded_key
from bastion.core.ports import LoginThrottle

__all__ = ["RedisLoginThrottle"]

log = logging.getLogger(__name__)

# KEYS: failure count, lock. ARGV: window (ms), free attempts, then the lock (ms) earned by
# the 1st, 2nd, ... failure beyond the free ones, the last repeating for every later one.
# The schedule comes from ThrottlePolicy.lock_for so the rule lives in one place.
_RECORD_FAILURE = """
local failures = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local beyond = failures - tonumber(ARGV[2])
local lock = 0
if beyond > 0 then
  lock = tonumber(ARGV[math.min(beyond, #ARGV - 2) + 2])
end
local remaining = redis.call('PTTL', KEYS[2])
if lock > 0 and lock > remaining then
  redis.call('SET', KEYS[2], '1', 'PX', lock)
  return lock
end
return math.max(remaining, 0)
"""

# The outages the throttle survives: any error from redis-py (refused, timed out, read-only
# replica, out of memory) and the socket errors that can escape it.
_OUTAGE = (RedisError, OSError)


def _milliseconds(delay: timedelta) -> int:
    """``delay`` in whole milliseconds, rounded up so a lock never shrinks to nothing."""
    return -(-delay // timedelta(milliseconds=1))


@functools.lru_cache(maxsize=32)
def _lock_schedule(policy: ThrottlePolicy) -> tuple[int, ...]:
    """The locks (ms) after the 1st, 2nd, ... failure beyond the free ones, up to the cap."""
    schedule = [_milliseconds(policy.lock_for(policy.free_attempts + 1))]
    while True:
        following = _milliseconds(policy.lock_for(policy.free_attempts + len(schedule) + 1))
        if following == schedule[-1]:
            return tuple(schedule)
        schedule.append(following)


class RedisLoginThrottle:
    """Implements :class:`~bastion.core.ports.LoginThrottle` on Redis.

    Args:
        client: The client to use (see :func:`~bastion.adapters.redis.redis_from_url`);
            :meth:`close` closes it.
        prefix: Put before every Redis key, so several applications can share a server.
        fallback: The throttle used while Redis is down, usually an in-process one.
            Without one, nothing is throttled during an outage: logins keep
            working, at the price of the protection.
        retry_after: Seconds to go straight to the fallback after Redis failed,
            so an outage does not cost every login a timeout.
        clock: Seconds on a clock that never goes back (``time.monotonic``).
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "bastion:",
        fallback: LoginThrottle | None = None,
        retry_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._fallback = fallback
        self._retry_after = retry_after
        self._clock = clock
        self._script = client.register_script(_RECORD_FAILURE)
        self._down = False
        self._retry_at = 0.0

    def _keys(self, key: str) -> tuple[str, str]:
        stored = bounded_key(key)
        return f"{self._prefix}throttle:fail:{stored}", f"{self._prefix}throttle:lock:{stored}"

    def _skip_redis(self) -> bool:
        return self._down and self._clock() < self._retry_at

    def _failed(self, error: Exception) -> None:
        self._retry_at = self._clock() + self._retry_after
        if not self._down:
            self._down = True
            # The error's text can name hosts and keys; its class says enough.
            log.warning(
                "Redis is unreachable (%s): login throttling uses %s until it answers",
                type(error).__name__,
                "its in-process fallback"
                if self._fallback is not None
                else "no fallback, so nothing is throttled",
            )

    def _answered(self) -> None:
        if self._down:
            self._down = False
            log.info("Redis answers again: login throttling uses it again")

    async def locked_for(self, key: str) -> float:
        """Seconds ``key`` is still locked; ``0.0`` if it is free.

        A lock the fallback imposed during an outage still counts after it.
        """
        fallback_lock = 0.0 if self._fallback is None else await self._fallback.locked_for(key)
        if self._skip_redis():
            return fallback_lock
        try:
            remaining_ms = await self._client.pttl(self._keys(key)[1])
        except _OUTAGE as error:
            self._failed(error)
            return fallback_lock
        self._answered()
        return max(remaining_ms / 1000 if remaining_ms > 0 else 0.0, fallback_lock)

    async def record_failure(self, key: str, policy: ThrottlePolicy) -> float:
        """Count one failure for ``key`` and return the lock now in force, in seconds."""
        if not self._skip_redis():
            args = (_milliseconds(policy.window), policy.free_attempts, *_lock_schedule(policy))
            try:
                lock_ms = await self._script(keys=list(self._keys(key)), args=list(args))
            except _OUTAGE as error:
                self._failed(error)
            else:
                self._answered()
                return int(lock_ms) / 1000
        if self._fallback is None:
            return 0.0
        return await self._fallback.record_failure(key, policy)

    async def reset(self, key: str) -> None:
        """Forget ``key``'s failures and lift its lock, in Redis and in the fallback."""
        if self._fallback is not None:
            await self._fallback.reset(key)
        if self._skip_redis():
            return
        try:
            await self._client.delete(*self._keys(key))
        except _OUTAGE as error:
            self._failed(error)
        else:
            self._answered()

    async def close(self) -> None:
        """Close the Redis client and the fallback."""
        try:
            await self._client.aclose()
        finally:
            if self._fallback is not None:
                await self._fallback.close()
