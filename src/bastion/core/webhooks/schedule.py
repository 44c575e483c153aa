"""When a failed webhook delivery is tried again, and when it is given up.

The delay after attempt ``n`` (1 = the first attempt) is exponential with
additive jitter, built from tenacity's wait strategies::

    min(initial * 2 ** (n - 1), maximum) + uniform(0, jitter)

With the defaults (10 s, doubling, capped at 1 h, up to 10 s of jitter) the
retries come roughly 10 s, 20 s, 40 s, ... 43 min, then hourly, until
``give_up_after`` (3 days) has passed since the first attempt. The jitter is
added after the cap, so deliveries that failed together do not all come back
in the same second even once they reach the cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tenacity import RetryCallState, Retrying, wait_exponential, wait_random
from tenacity.wait import wait_base

__all__ = ["DEFAULT_RETRY_POLICY", "RetryPolicy", "next_attempt_delay"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before each retry of a delivery, and when to give up.

    Raises:
        ValueError: On construction, for a non-positive ``initial`` or
            ``give_up_after``, a negative ``jitter``, or ``maximum`` below ``initial``.
    """

    initial: timedelta = timedelta(seconds=10)
    """The wait after the first failed attempt; it doubles after each further one."""
    maximum: timedelta = timedelta(hours=1)
    """The longest wait (before jitter)."""
    give_up_after: timedelta = timedelta(days=3)
    """A delivery is given up once this long has passed since its first attempt."""
    jitter: timedelta = timedelta(seconds=10)
    """Up to this much random extra wait, spreading retries out."""
    _wait: wait_base = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.initial <= timedelta(0) or self.give_up_after <= timedelta(0):
            raise ValueError("initial and give_up_after must be positive")
        if self.jitter < timedelta(0):
            raise ValueError(f"jitter must be >= 0, not {self.jitter}")
        if self.maximum < self.initial:
            raise ValueError(f"maximum ({self.maximum}) must be at least initial ({self.initial})")
        wait = wait_exponential(
            multiplier=self.initial.total_seconds(), max=self.maximum.total_seconds()
        ) + wait_random(0, self.jitter.total_seconds())
        object.__setattr__(self, "_wait", wait)

    def next_attempt_delay(self, attempt: int) -> float:
        """Seconds to wait after attempt number ``attempt`` (1 = the first) failed.

        Raises:
            ValueError: ``attempt`` is below 1.
        """
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, not {attempt}")
        call = RetryCallState(Retrying(), None, (), {})
        call.attempt_number = attempt
        return float(self._wait(call))

    def should_give_up(self, first_attempt_at: datetime, now: datetime) -> bool:
        """Has the delivery whose first attempt was at ``first_attempt_at`` run out of time?"""
        return now - first_attempt_at >= self.give_up_after

    def next_attempt_at(
        self, attempt: int, first_attempt_at: datetime, now: datetime
    ) -> datetime | None:
        """When to try again after attempt ``attempt`` failed at ``now``; ``None``: give up.

        A retry that would fall after the give-up time is not scheduled.
        """
        at = now + timedelta(seconds=self.next_attempt_delay(attempt))
        if self.should_give_up(first_attempt_at, at):
            return None
        return at


DEFAULT_RETRY_POLICY = RetryPolicy()
"""10 s doubling to 1 h, up to 10 s of jitter, given up after 3 days."""


def next_attempt_delay(attempt: int, policy: RetryPolicy = DEFAULT_RETRY_POLICY) -> float:
    """Seconds to wait after attempt number ``attempt`` failed (see :class:`RetryPolicy`)."""
    return policy.next_attempt_delay(attempt)
