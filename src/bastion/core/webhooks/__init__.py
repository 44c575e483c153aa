"""Webhook delivery building blocks: signatures, retry schedule, circuit breaker.

The signatures, schedule and breaker are pure (no I/O, no clock of their own); the
subscriptions, admin and delivery target use the store; the HTTP side (SSRF guard,
sender) is :mod:`bastion.adapters.webhooks`.
"""

from typing import TYPE_CHECKING, Any

from bastion.core.webhooks.breaker import (
    Admission,
    BreakerPolicy,
    BreakerState,
    BreakerStatus,
    CircuitBreaker,
)
from bastion.core.webhooks.signing import SECRET_PREFIX, new_secret, sign, signed_headers

if TYPE_CHECKING:
    from bastion.core.webhooks.schedule import (
        DEFAULT_RETRY_POLICY,
        RetryPolicy,
        next_attempt_delay,
    )

_LAZY = frozenset({"DEFAULT_RETRY_POLICY", "RetryPolicy", "next_attempt_delay"})
__all__ = [
    "DEFAULT_RETRY_POLICY",
    "SECRET_PREFIX",
    "Admission",
    "BreakerPolicy",
    "BreakerState",
    "BreakerStatus",
    "CircuitBreaker",
    "RetryPolicy",
    "new_secret",
    "next_attempt_delay",
    "sign",
    "signed_headers",
]


def __getattr__(name: str) -> Any:
    # The retry schedule imports tenacity: only processes that deliver need it, and
    # the admin API's modules import this package in every server worker.
    if name in _LAZY:
        from bastion.core.webhooks import schedule

        return getattr(schedule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
