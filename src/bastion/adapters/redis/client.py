"""Redis clients that give up quickly, so a down server costs a request little time."""

from __future__ import annotations

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

__all__ = ["CONNECT_TIMEOUT", "OPERATION_TIMEOUT", "redis_from_url"]

CONNECT_TIMEOUT = 0.5
"""Seconds to wait for a connection to the server."""
OPERATION_TIMEOUT = 0.5
"""Seconds to wait for the answer to one command."""


def redis_from_url(url: str) -> redis.asyncio.Redis:
    """A client for the server at ``url`` with short timeouts.

    Args:
        url: ``redis://[[user]:[password]@]host[:port][/db]`` (or ``rediss://``, ``unix://``).

    Returns:
        A client that connects lazily, on its first command. A command that
        fails on a broken connection is retried once, on a fresh connection
        (a restarted server), and never more: callers fall back instead of waiting.
    """
    return redis.asyncio.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=OPERATION_TIMEOUT,
        retry=Retry(NoBackoff(), 1),
    )
