"""Login throttling policy: how long a key (an account, a client IP) is locked after failures.

A key may fail ``free_attempts`` times without any delay; every failure after
that locks it for a delay that doubles each time, up to ``max_delay``. The
failure count is forgotten ``window`` after the last failure.

Every lock expires by itself after at most ``max_delay``: an attacker who
hammers someone's account can slow their logins down, but never lock them
out for good. That is deliberate; a permanent lock would hand any stranger a
way to deny service to a user of their choice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["ACCOUNT_POLICY", "IP_POLICY", "MAX_KEY_LENGTH", "ThrottlePolicy", "bounded_key"]

MAX_KEY_LENGTH = 64
"""Keys longer than this many UTF-8 bytes are stored by their SHA-256 (see :func:`bounded_key`)."""


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures a key gets for free and how long it is locked after that.

    Raises:
        ValueError: On construction, for a negative count or delay, an empty
            window, or ``max_delay`` below ``base_delay``.
    """

    free_attempts: int
    """Failures allowed before any lock."""
    window: timedelta
    """Failures older than this are forgotten: the count expires ``window`` after the last one."""
    base_delay: timedelta
    """The lock after the first failure beyond the free ones."""
    max_delay: timedelta
    """The longest lock; every lock expires by itself after at most this long."""

    def __post_init__(self) -> None:
        if self.free_attempts < 0:
            raise ValueError(f"free_attempts must be >= 0, not {self.free_attempts}")
        if self.window <= timedelta(0):
            raise ValueError(f"window must be positive, not {self.window}")
        if self.base_delay < timedelta(0):
            raise ValueError(f"base_delay must be >= 0, not {self.base_delay}")
        if self.max_delay < self.base_delay:
            raise ValueError(
                f"max_delay ({self.max_delay}) must be at least base_delay ({self.base_delay})"
            )

    def lock_for(self, failures: int) -> timedelta:
        """The lock that ``failures`` failures within the window earn.

        Args:
            failures: Failures counted so far, the latest included.

        Returns:
            Zero while ``failures <= free_attempts``; then ``base_delay`` doubled
            for each further failure, never more than ``max_delay``.
        """
        beyond = failures - self.free_attempts
        if beyond <= 0:
            return timedelta(0)
        base_us = self.base_delay // timedelta(microseconds=1)
        max_us = self.max_delay // timedelta(microseconds=1)
        # Past this many doublings any non-zero base exceeds the cap; stopping there keeps
        # the shift small when the failure count is huge.
        doublings = min(beyond - 1, max_us.bit_length() + 1)
        return timedelta(microseconds=min(base_us << doublings, max_us))


ACCOUNT_POLICY = ThrottlePolicy(
    free_attempts=5,
    window=timedelta(minutes=15),
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(minutes=15),
)
"""The default for an account (keyed by the login name): 5 free failures, then 1 s, 2 s, ..."""

IP_POLICY = ThrottlePolicy(
    free_attempts=50,
    window=timedelta(minutes=15),
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(minutes=15),
)
"""The default for a client IP, which may be many users behind one NAT: 50 free failures."""


def bounded_key(key: str) -> str:
    """The form in which a throttle stores ``key``, so its length stays bounded.

    Args:
        key: The throttled key, e.g. ``account:alice@example.com``.

    Returns:
        ``key`` itself when it has at most :data:`MAX_KEY_LENGTH` UTF-8 bytes,
        otherwise ``sha256:`` and the hex digest (longer than any key kept as is,
        so the two forms never collide).
    """
    raw = key.encode()
    if len(raw) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(raw).hexdigest()
