"""Turning a broker client's failures into :class:`BrokerUnavailable`, within a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bastion.core.ports.broker import BrokerUnavailable

__all__ = ["PING_TIMEOUT", "RECONNECT_INTERVAL", "within"]

PING_TIMEOUT = 2.0
"""At most this many seconds for a health check, even with a longer publish timeout."""
RECONNECT_INTERVAL = 1.0
"""Seconds a client waits between attempts to get a lost connection back."""


@asynccontextmanager
async def within(
    seconds: float, where: str, action: str, outages: tuple[type[BaseException], ...]
) -> AsyncIterator[None]:
    """Run the block within ``seconds``; raise :class:`BrokerUnavailable` on a timeout or on
    one of the client's ``outages``.

    Args:
        seconds: The deadline for the whole block.
        where: The broker, as messages name it (``RabbitMQ at amqp://user@host:5672/``),
            never with its password.
        action: What the block does, for the message (``publish 10 events``).
        outages: The client's exceptions that mean the broker is unreachable or refused.
    """
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as exc:
        raise BrokerUnavailable(
            f"{where} did not answer within {seconds:g} s ({action}); "
            "check that it is running and reachable"
        ) from exc
    except outages as exc:
        raise BrokerUnavailable(
            f"{where} failed to {action} ({type(exc).__name__}: {exc}); "
            "check that it is running, reachable and accepts these credentials"
        ) from exc
