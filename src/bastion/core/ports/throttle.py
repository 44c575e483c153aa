"""The login-throttle port: failure counts and locks per key, shared by every worker.

Keys are opaque strings chosen by the caller, e.g. ``account:<login name>``
and ``ip:<client address>``. A login first asks :meth:`LoginThrottle.locked_for`
for each of its keys and refuses while any is locked, without checking the
password; a wrong password is then counted with
:meth:`LoginThrottle.record_failure`, and a successful login clears the
account's key with :meth:`LoginThrottle.reset`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    # Only annotations use it; a runtime import would tie the ports package's
    # import order to the identity package's.
    from bastion.core.identity.throttling import ThrottlePolicy

__all__ = ["LoginThrottle"]


class LoginThrottle(Protocol):
    """Counts login failures per key and locks a key as its policy says.

    Every lock expires by itself (see :mod:`bastion.core.identity.throttling`).
    """

    async def locked_for(self, key: str) -> float:
        """Seconds ``key`` is still locked; ``0.0`` if it is free."""
        ...

    async def record_failure(self, key: str, policy: ThrottlePolicy) -> float:
        """Count one failure for ``key`` under ``policy``.

        Returns:
            The lock, in seconds, now in force for ``key`` (``0.0`` if none).
        """
        ...

    async def reset(self, key: str) -> None:
        """Forget ``key``'s failures and lift its lock (after a successful login)."""
        ...

    async def close(self) -> None:
        """Release connections; the throttle is not used afterwards."""
        ...
